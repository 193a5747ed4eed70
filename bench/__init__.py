"""Benchmarks that print figures (see the README's Performance section). Never imported by the portal."""
