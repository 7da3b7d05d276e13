"""Tests of the static public site of a corte."""
