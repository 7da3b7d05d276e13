"""The acopio screen: reading arriving actas, recording them and printing their ticket."""
