<?php

function formatPrice($cents, $currency)
{
    $amount = number_format($cents / 100, 2);
    return $currency . ' ' . $amount;
}
