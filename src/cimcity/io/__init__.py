"""Readers and writers: formats in, normalised tables and models out."""
