"""The drill (simulacro): a whole election night, end to end, with a verdict."""

from prep.simulacro.run import Options, Report, run

__all__ = ["Options", "Report", "run"]
