"""rltutorial: reinforcement learning for beam tuning at the ARES Experimental Area.

>>> import rltutorial
>>> env = rltutorial.make_env(rltutorial.DEFAULT_CONFIG)
"""

from __future__ import annotations

from rltutorial.agents import list_agents, load_agent
from rltutorial.agents.training import train
from rltutorial.config import DEFAULT_CONFIG, load_config, save_config, validate_config
from rltutorial.envs import ENV_ID, AresEA, AresEACheetah
from rltutorial.evaluation import compare_agents, evaluate_agent
from rltutorial.fast import fast_mode
from rltutorial.make import make_env, make_vec_env
from rltutorial.optimisers import compare_methods, tune
from rltutorial.rewards import REWARD_MODES, register_reward

__all__ = [
    "DEFAULT_CONFIG",
    "ENV_ID",
    "AresEA",
    "AresEACheetah",
    "REWARD_MODES",
    "compare_agents",
    "compare_methods",
    "evaluate_agent",
    "fast_mode",
    "list_agents",
    "load_agent",
    "load_config",
    "make_env",
    "make_vec_env",
    "register_reward",
    "save_config",
    "train",
    "tune",
    "validate_config",
]

__version__ = "0.1.0"
