"""The department simulator, a real process, for the verification tests."""

from minzheng.exchange.testing import department_simulator, department_simulator_process

__all__ = ["department_simulator", "department_simulator_process"]
