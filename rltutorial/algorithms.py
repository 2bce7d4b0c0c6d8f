"""Training algorithms by name: how to build the learner and, without it, its policy.

An :class:`Algorithm` knows three things: how to build a Stable-Baselines3 learner for a
config and a vectorised environment (training), how to build the bare policy network
from a config and the spaces (loading a saved agent from its state dict, no pickle), and
which Stable-Baselines3 class to export to. :data:`ALGORITHM_REGISTRY` maps the config's
``algorithm`` name to one; :func:`register_algorithm` adds another.

Stable-Baselines3 and torch are imported inside the functions, so importing
:mod:`rltutorial` stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rltutorial.registry import lookup

__all__ = [
    "Algorithm",
    "ALGORITHM_REGISTRY",
    "LEARNING_RATE_SCHEDULES",
    "EVAL_CRITERIA",
    "POLICY_FEATURES",
    "register_algorithm",
    "get_algorithm",
    "learning_rate",
]


def _constant(rate: float) -> Callable[[float], float]:
    return lambda progress_remaining: rate


def _linear(rate: float) -> Callable[[float], float]:
    return lambda progress_remaining: rate * progress_remaining


#: Learning-rate schedules by name: name -> function(rate) -> schedule(progress_remaining),
#: where progress_remaining goes from 1 at the start of training to 0 at the end.
LEARNING_RATE_SCHEDULES: dict[str, Callable[[float], Callable[[float], float]]] = {
    "constant": _constant,
    "linear": _linear,
}


def _mean_return(finals: Any) -> float:
    return float(finals["return"].mean())


def _median_objective(finals: Any) -> float:
    return -float(finals["objective"].median())


#: How evaluation during training scores a policy (higher is better): name ->
#: function(final rows of the evaluation episodes, a DataFrame with the columns
#: ``return`` and ``objective`` in m) -> score.
EVAL_CRITERIA: dict[str, Callable[[Any], float]] = {
    "return": _mean_return,
    "median_objective": _median_objective,
}


def learning_rate(config: Mapping[str, Any]) -> Callable[[float], float]:
    """The learning-rate schedule a config asks for."""
    make = lookup(
        LEARNING_RATE_SCHEDULES,
        config["learning_rate_schedule"],
        "learning_rate_schedule",
    )
    return make(float(config["learning_rate"]))


@dataclass(frozen=True)
class Algorithm:
    """One training algorithm.

    Attributes
    ----------
    build : callable
        ``build(config, venv, tensorboard_log, seed) -> BaseAlgorithm``: a ready learner.
    policy : callable
        ``policy(config, observation_space, action_space) -> torch.nn.Module`` with a
        ``predict(observation, deterministic)`` method and the learner's state-dict keys.
    sb3_class : callable
        ``sb3_class() -> type``: the Stable-Baselines3 class used for exports.
    description : str
        One line for users.
    on_policy : bool
        Learns from rollouts of ``n_envs × n_steps`` (PPO; ``batch_size`` must fit).
    """

    build: Callable[..., Any]
    policy: Callable[..., Any]
    sb3_class: Callable[[], type]
    description: str
    on_policy: bool = True


def _log_lengths() -> type:
    from rltutorial.features import LogLengthFeatures

    return LogLengthFeatures


#: How the policy sees observations: name -> function() -> features-extractor class,
#: or None for Stable-Baselines3's default (the flat values as they come).
POLICY_FEATURES: dict[str, Callable[[], type] | None] = {
    "linear": None,
    "log_lengths": _log_lengths,
}


def _ppo_policy_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"net_arch": list(config["net_arch"])}
    features = lookup(POLICY_FEATURES, config["policy_features"], "policy_features")
    if features is not None:
        if config["normalize_observation"]:
            raise ValueError(
                f"policy_features {config['policy_features']!r} scales raw observations; "
                "set normalize_observation to False."
            )
        kwargs["features_extractor_class"] = features()
    return kwargs


def _on_policy_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """Learner arguments PPO and recurrent PPO share."""
    return {
        "learning_rate": learning_rate(config),
        "n_steps": int(config["n_steps"]),
        "batch_size": int(config["batch_size"]),
        "n_epochs": int(config["n_epochs"]),
        "gamma": float(config["gamma"]),
        "gae_lambda": float(config["gae_lambda"]),
        "clip_range": float(config["clip_range"]),
        "ent_coef": float(config["ent_coef"]),
        "device": "cpu",
        "verbose": 0,
    }


def _build_ppo(
    config: Mapping[str, Any],
    venv: Any,
    tensorboard_log: str | None = None,
    seed: int | None = None,
) -> Any:
    from stable_baselines3 import PPO

    return PPO(
        "MlpPolicy",
        venv,
        policy_kwargs=_ppo_policy_kwargs(config),
        tensorboard_log=tensorboard_log,
        seed=seed,
        **_on_policy_kwargs(config),
    )


class _NoOptimizer:
    """Stands in for the optimiser of a policy that is only used to act.

    Creating a torch optimiser imports ``torch._dynamo``, which takes seconds; a loaded
    agent never trains, so it does not need one.
    """

    def __init__(self, parameters: Any, lr: float = 0.0, **kwargs: Any) -> None:
        self.param_groups: list = []


def _acting_policy(
    policy_class: type,
    policy_kwargs: Mapping[str, Any],
    observation_space: Any,
    action_space: Any,
):
    """A policy network built only to act: no optimiser, in evaluation mode."""
    policy = policy_class(
        observation_space,
        action_space,
        lr_schedule=_constant(0.0),
        optimizer_class=_NoOptimizer,
        **policy_kwargs,
    )
    return policy.eval()


def _ppo_policy(config: Mapping[str, Any], observation_space: Any, action_space: Any):
    from stable_baselines3.common.policies import ActorCriticPolicy

    return _acting_policy(
        ActorCriticPolicy, _ppo_policy_kwargs(config), observation_space, action_space
    )


def _sb3_class(module: str, name: str) -> Callable[[], type]:
    """A function importing the learner class ``module.name`` when called (lazy import)."""

    def load() -> type:
        return getattr(importlib.import_module(module), name)

    return load


#: Size of the LSTM state of recurrent policies (actor and critic each).
LSTM_HIDDEN_SIZE = 64


def _recurrent_policy_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = _ppo_policy_kwargs(config)
    kwargs["lstm_hidden_size"] = LSTM_HIDDEN_SIZE
    return kwargs


def _build_recurrent_ppo(
    config: Mapping[str, Any],
    venv: Any,
    tensorboard_log: str | None = None,
    seed: int | None = None,
) -> Any:
    from sb3_contrib import RecurrentPPO

    return RecurrentPPO(
        "MlpLstmPolicy",
        venv,
        policy_kwargs=_recurrent_policy_kwargs(config),
        tensorboard_log=tensorboard_log,
        seed=seed,
        **_on_policy_kwargs(config),
    )


def _recurrent_ppo_policy(
    config: Mapping[str, Any], observation_space: Any, action_space: Any
):
    from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy

    return _acting_policy(
        RecurrentActorCriticPolicy,
        _recurrent_policy_kwargs(config),
        observation_space,
        action_space,
    )


def _td3_policy_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = _ppo_policy_kwargs(config)  # same network and feature options
    kwargs["n_critics"] = 2
    return kwargs


def _off_policy_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """Learner arguments TD3 and SAC share: the replay buffer and the update schedule."""
    return {
        "learning_rate": learning_rate(config),
        "buffer_size": int(config["buffer_size"]),
        "learning_starts": int(config["learning_starts"]),
        "batch_size": int(config["batch_size"]),
        "tau": float(config["tau"]),
        "gamma": float(config["gamma"]),
        "train_freq": int(config["train_freq"]),
        "gradient_steps": int(config["gradient_steps"]),
        "device": "cpu",
        "verbose": 0,
    }


def _build_td3(
    config: Mapping[str, Any],
    venv: Any,
    tensorboard_log: str | None = None,
    seed: int | None = None,
) -> Any:
    import numpy as np
    from stable_baselines3 import TD3
    from stable_baselines3.common.noise import NormalActionNoise

    n_actions = int(np.prod(venv.action_space.shape))
    noise = float(config["action_noise"])
    return TD3(
        "MlpPolicy",
        venv,
        # noise on the policy's [-1, 1] output; one independent draw per environment
        action_noise=(
            NormalActionNoise(np.zeros(n_actions), noise * np.ones(n_actions))
            if noise > 0
            else None
        ),
        policy_delay=int(config["policy_delay"]),
        target_policy_noise=float(config["target_policy_noise"]),
        target_noise_clip=float(config["target_noise_clip"]),
        policy_kwargs=_td3_policy_kwargs(config),
        tensorboard_log=tensorboard_log,
        seed=seed,
        **_off_policy_kwargs(config),
    )


def _td3_policy(config: Mapping[str, Any], observation_space: Any, action_space: Any):
    from stable_baselines3.td3.policies import TD3Policy

    return _acting_policy(
        TD3Policy, _td3_policy_kwargs(config), observation_space, action_space
    )


def _build_sac(
    config: Mapping[str, Any],
    venv: Any,
    tensorboard_log: str | None = None,
    seed: int | None = None,
) -> Any:
    from stable_baselines3 import SAC

    return SAC(
        "MlpPolicy",
        venv,
        ent_coef="auto",  # the entropy weight is learned towards a target entropy
        policy_kwargs=_td3_policy_kwargs(config),
        tensorboard_log=tensorboard_log,
        seed=seed,
        **_off_policy_kwargs(config),
    )


def _sac_policy(config: Mapping[str, Any], observation_space: Any, action_space: Any):
    from stable_baselines3.sac.policies import SACPolicy

    return _acting_policy(
        SACPolicy, _td3_policy_kwargs(config), observation_space, action_space
    )


#: Registry of training algorithms by the config's ``algorithm`` name.
ALGORITHM_REGISTRY: dict[str, Algorithm] = {
    "ppo": Algorithm(
        _build_ppo,
        _ppo_policy,
        _sb3_class("stable_baselines3", "PPO"),
        "Proximal Policy Optimization (Stable-Baselines3 PPO, MlpPolicy)",
    ),
    "td3": Algorithm(
        _build_td3,
        _td3_policy,
        _sb3_class("stable_baselines3", "TD3"),
        "Twin Delayed DDPG (Stable-Baselines3 TD3): off-policy, replay buffer, "
        "deterministic actor with Gaussian exploration noise",
        on_policy=False,
    ),
    "sac": Algorithm(
        _build_sac,
        _sac_policy,
        _sb3_class("stable_baselines3", "SAC"),
        "Soft Actor-Critic (Stable-Baselines3 SAC): off-policy, replay buffer, "
        "stochastic actor whose entropy weight is tuned automatically (ignores "
        "action_noise and ent_coef)",
        on_policy=False,
    ),
    "recurrent_ppo": Algorithm(
        _build_recurrent_ppo,
        _recurrent_ppo_policy,
        _sb3_class("sb3_contrib", "RecurrentPPO"),
        "PPO with an LSTM memory (sb3-contrib RecurrentPPO, MlpLstmPolicy): remembers "
        "earlier readings, for partially observed tasks",
    ),
}


def register_algorithm(
    name: str, algorithm: Algorithm, overwrite: bool = False
) -> None:
    """Make ``algorithm`` available as ``config["algorithm"] = name``.

    Raises
    ------
    ValueError
        If the name is empty or taken (and ``overwrite`` is False).
    TypeError
        If ``algorithm`` is not an :class:`Algorithm`.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"An algorithm needs a non-empty string name, got {name!r}.")
    if not isinstance(algorithm, Algorithm):
        raise TypeError(f"Expected an Algorithm, got {type(algorithm).__name__}.")
    if name in ALGORITHM_REGISTRY and not overwrite:
        taken = ", ".join(sorted(ALGORITHM_REGISTRY))
        raise ValueError(
            f"Algorithm {name!r} already exists (taken: {taken}); choose another name "
            "or pass overwrite=True."
        )
    ALGORITHM_REGISTRY[name] = algorithm


def get_algorithm(name: str) -> Algorithm:
    """Look up an algorithm, raising a ``ValueError`` that lists the valid names."""
    return lookup(ALGORITHM_REGISTRY, name, "algorithm")
