/** The license of a mined repository, from its license file's text. */

/** A license key (GitHub's lowercase ids, as CommitPackFT uses) from a license text. */
export function licenseOfText(text: string): string {
  const t = text.replace(/\s+/g, " ");
  if (/Permission is hereby granted, free of charge/i.test(t)) return "mit";
  if (/Apache License,? Version 2\.0/i.test(t)) return "apache-2.0";
  if (/Mozilla Public License,? (Version|v\.?) ?2\.0/i.test(t)) return "mpl-2.0";
  if (/GNU LESSER GENERAL PUBLIC LICENSE/i.test(t))
    return /Version 3/i.test(t) ? "lgpl-3.0" : "lgpl-2.1";
  if (/GNU AFFERO GENERAL PUBLIC LICENSE/i.test(t)) return "agpl-3.0";
  if (/GNU GENERAL PUBLIC LICENSE/i.test(t)) return /Version 3/i.test(t) ? "gpl-3.0" : "gpl-2.0";
  if (/Redistribution and use in source and binary forms/i.test(t)) {
    return /Neither the name|names of (its|the) contributors/i.test(t)
      ? "bsd-3-clause"
      : "bsd-2-clause";
  }
  if (
    /Permission to use, copy, modify, and(\/or)? distribute this software for any purpose/i.test(t)
  )
    return "isc";
  if (/This is free and unencumbered software released into the public domain/i.test(t))
    return "unlicense";
  return "unknown";
}
