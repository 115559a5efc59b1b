def total_unpaid(invoices):
    """Sum what customers still owe."""
    total = 0
    for invoice in invoices:
        if not invoice.paid:
            total += invoice.amount
    return total
