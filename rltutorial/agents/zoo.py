"""The agent zoo: trained agents by name, loaded from plain files without pickle.

>>> import rltutorial
>>> rltutorial.list_agents()                      # doctest: +SKIP
['Bertha Sparkman', 'Betty Gordon', 'David Archibald', ...]
>>> agent = rltutorial.load_agent("reference")    # doctest: +SKIP
>>> episode = agent.run_episode(seed=0)           # one row per step

Each agent is an :class:`rltutorial.agents.Agent` (policy, config, normalisation
statistics and metrics); see :mod:`rltutorial.agents.storage` for the folder format.
Agents are found in the folders of :func:`rltutorial.paths.zoo_dirs`.
"""

from __future__ import annotations

from pathlib import Path

from rltutorial.agents import storage, swap
from rltutorial.agents.agent import Agent
from rltutorial.paths import zoo_dirs
from rltutorial.registry import did_you_mean

__all__ = [
    "AGENT_ALIASES",
    "REFERENCE_AGENT",
    "list_agents",
    "load_agent",
    "agent_folder",
]

#: Name of the best agent for the workshop's focusing task: Harvey Cave (PPO with the
#: hybrid action mode ``focal_choice``, within 1.5× of the optimum in every one of the
#: 200 evaluation problems from step 3 on). The previous reference, Staci Lanphear (TD3,
#: ``delta_fine``), stays in the zoo under her name.
REFERENCE_AGENT = "Harvey Cave"
#: Other names agents answer to: alias -> agent name.
AGENT_ALIASES: dict[str, str] = {"reference": REFERENCE_AGENT}


def list_agents() -> list[str]:
    """Names of the agents in the zoo (:func:`rltutorial.paths.zoo_dirs`), sorted."""
    return sorted(_agent_folders())


def _agent_folders() -> dict[str, Path]:
    """Agent name -> folder; the first zoo folder that holds a name wins.

    Interrupted saves are recovered and abandoned leftovers deleted on the way
    (:func:`rltutorial.agents.swap.tidy`).
    """
    found: dict[str, Path] = {}
    for folder in reversed(zoo_dirs()):
        if folder.is_dir():
            swap.tidy(folder)
            found.update(
                (p.name, p) for p in folder.iterdir() if storage.is_agent_folder(p)
            )
    return found


def agent_folder(name: str) -> Path:
    """The folder of the zoo agent called ``name`` (exact name, alias or any case).

    Raises
    ------
    ValueError
        For an unknown name, listing the available agents and close matches.
    """
    return _agent_folders()[resolve_agent_name(name)]


def _zoo_text() -> str:
    return " and ".join(str(folder) for folder in zoo_dirs())


def resolve_agent_name(name: str) -> str:
    """The zoo name ``name`` refers to: exact, alias, or case-insensitive match.

    Raises
    ------
    ValueError
        Listing the available agents and the closest matches.
    """
    available = list_agents()
    if not isinstance(name, str):
        raise ValueError(f"An agent name must be a string, got {name!r}.")
    if name in available:
        return name
    folded = {agent.casefold(): agent for agent in available}
    target = AGENT_ALIASES.get(name.casefold(), name)
    if target.casefold() in folded:
        return folded[target.casefold()]
    if target != name:
        raise ValueError(
            f"Alias {name!r} refers to agent {target!r}, which is not in {_zoo_text()}. "
            f"Available agents: {', '.join(map(repr, available)) or 'none'}."
        )
    raise _unknown_agent(name, available)


def _unknown_agent(name: str, available: list[str]) -> ValueError:
    folder = _zoo_text()
    if not available:
        return ValueError(
            f"Unknown agent {name!r}: there are no agents in {folder}. Train one with "
            "rltutorial.train(config) or point RLTUTORIAL_MODELS to a folder of agents."
        )
    hint = did_you_mean(name, [*available, *AGENT_ALIASES], n=3, cutoff=0.5)
    aliases = ", ".join(f"{a!r} ({n})" for a, n in sorted(AGENT_ALIASES.items()))
    return ValueError(
        f"Unknown agent {name!r}.{hint} Available agents: "
        f"{', '.join(map(repr, available))}; aliases: {aliases}. (Agents live in {folder}.)"
    )


def load_agent(name: str) -> Agent:
    """Load an agent of the zoo by name, alias (``"reference"``) or any letter case.

    Raises
    ------
    ValueError
        For an unknown name (listing the available agents and close matches), or a
        damaged agent folder (naming the file; see
        :func:`rltutorial.agents.storage.read_agent` for what is checked).
    """
    return Agent.from_folder(agent_folder(name))
