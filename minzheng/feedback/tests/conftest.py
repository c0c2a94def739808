from minzheng.feedback.testing import hotline_simulator, hotline_simulator_process

__all__ = ["hotline_simulator", "hotline_simulator_process"]
