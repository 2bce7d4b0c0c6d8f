"""Plotting: every function returns a Figure (or display object) and leaves pyplot alone."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from rltutorial.agents import Agent
from rltutorial.evaluation import compare_agents, evaluate_agent
from rltutorial.plotting import (
    animate_episode,
    episode_frames,
    plot_comparison,
    plot_episode_strip,
    plot_evaluation,
    plot_training_history,
    show_video,
)


@pytest.fixture(scope="module")
def episode():
    """A short episode of an untrained agent."""
    return Agent.untrained(seed=1).run_episode(seed=0, max_steps=3)


def test_training_history_from_monitor_rows():
    """Reward and length are drawn against wall time and timesteps (2 × 2 panels)."""
    monitor = pd.DataFrame({"r": np.linspace(0, 1, 50), "l": 25, "t": np.arange(50.0)})
    figure = plot_training_history(monitor, window=10)
    assert isinstance(figure, Figure) and len(figure.axes) == 4
    assert plt.get_fignums() == []


def test_training_history_rejects_other_inputs():
    """Anything but an agent, a name, a CSV path or a DataFrame is refused."""
    with pytest.raises(ValueError, match="monitor CSV path"):
        plot_training_history(42)


def test_evaluation_and_comparison_figures():
    """Errors-vs-step panels per judged parameter; the comparison has three panels."""
    agents = [Agent.untrained(name="A", seed=1), Agent.untrained(name="B", seed=2)]
    evaluation = evaluate_agent(agents[0], n=3)
    assert len(plot_evaluation(evaluation).axes) == 2
    assert len(plot_evaluation(evaluation, include_position=True).axes) == 4
    table = compare_agents(agents, n=3)
    assert list(table.index) == ["A", "B"]
    assert len(plot_comparison(table).axes) == 3
    assert plt.get_fignums() == []


def test_episode_pictures_strip_and_gif(episode, tmp_path):
    """Frames are RGB arrays; the strip shows n of them; the GIF displays inline."""
    frames = episode_frames(episode, steps=[0, 3])
    assert len(frames) == 2 and frames[0].shape[2] == 3 and frames[0].dtype == np.uint8
    assert len(plot_episode_strip(episode, n=2).axes) == 2
    path = animate_episode(episode, tmp_path / "episode.gif")
    image = show_video(path)
    assert image.data[:6] == b"GIF89a"
    with pytest.raises(FileNotFoundError):
        show_video(tmp_path / "missing.gif")
