"""Product feeds for feed channels: Google Merchant Center (RSS 2.0 and TSV) and Meta (CSV)."""
