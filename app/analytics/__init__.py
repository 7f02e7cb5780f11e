"""Results for quality developers: response counts, response rates and NKI."""
