"""Vital signs (动态体征): indicators computed per jurisdiction node and period."""
