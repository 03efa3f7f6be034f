"""Simulation-based calibration (SBC) of the MMM fit: ``bayestune calibrate``.

>>> from bayestune.calibration import CalibrationSettings, run_calibration
>>> # run_calibration("quickstart", "sbc-out", CalibrationSettings(sims=100))
"""

from bayestune.calibration.run import CalibrationSettings, run_calibration

__all__ = ["CalibrationSettings", "run_calibration"]
