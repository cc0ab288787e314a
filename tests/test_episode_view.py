"""The episode of a critique or dialogue run in the viewers, on scripted fakes: `show` lists it
in order, the report holds it as a walk with the exported sample's segments (and draws it in
Chromium, its model text as text), `graph` numbers its moves along the edges; a tree without
events (beam) gets no episode anywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agent_cases import PROBLEM, act
from click.testing import CliRunner, Result
from dom_cases import DomParser, dump_dom, needs_chromium
from hand_cases import apples_nodes

from journeygen.cli import main
from journeygen.config import RunConfig
from journeygen.derive.samples import samples
from journeygen.models import Tree
from journeygen.prompts import load_prompts
from journeygen.store import RunStore
from journeygen.view.payload import report_payload
from journeygen.view.walks import tree_paths

PWN = "document.body.setAttribute('data-pwned','1')"
# the model's own reason, with markup that must stay text in the terminal and in the page
SAID = f'I added 4 apples, but Tom buys 5. <img src=x onerror="{PWN}"> [bold]x[/]'
STEPS_AND_ACTIONS = [
    "Tom starts with 3 apples.",
    act("Right so far.", "continue"),
    "He buys 5 more, so 3 + 4 = 7.",
    act(SAID, "backtrack to step 1"),
    "He buys 5 more, so 3 + 5 = 8.",
    act("Right so far.", "continue"),
    "The answer is 8.",
    act("That is the total.", "terminate"),
]
# (kind, node) of the episode those moves make, in the order they happened
EPISODE = [
    ("step", "1"),
    ("wrong_step", "1.1"),
    ("reflection", "1.1"),
    ("backtrack", "1"),
    ("step", "1.2"),
    ("answer", "1.2.1"),
]


@dataclass
class Runs:
    root: Path

    def cli(self, *args: str | Path) -> Result:
        folders: tuple[str | Path, ...] = ("--trees-dir", self.root / "trees")
        if args[0] in ("generate", "view"):
            folders += ("--out-dir", self.root / "out")
        done = CliRunner().invoke(main, [*map(str, args), *map(str, folders)])
        assert done.exit_code == 0, done.output
        return done

    def tree(self, run: str) -> Tree:
        tree = RunStore(self.root / "trees", run).load_tree(PROBLEM.id)
        assert tree is not None
        return tree


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Run `crit` (critique: the policy reflects in its own words), `talk` (dialogue: the
    critic does) and `beam` (no events), each on the apples problem."""
    root = tmp_path_factory.mktemp("episode-view")
    made = Runs(root)
    problems = root / "problems.jsonl"
    problems.write_text(json.dumps(PROBLEM.model_dump(exclude={"meta"})) + "\n")
    fake = ("generate", problems, "--backend", "fake")
    made.cli(*fake, "--run", "crit", "--strategy", "critique",
             "--model", write(root / "crit.json", STEPS_AND_ACTIONS))  # fmt: skip
    steps = [reply for reply in STEPS_AND_ACTIONS[::2] if not reply.startswith("The answer")]
    policy = write(root / "policy.json", [*steps, "So he has 8 apples. The answer is 8."])
    critic = write(root / "critic.json", STEPS_AND_ACTIONS[1:6:2])
    made.cli(*fake, "--run", "talk", "--strategy", "dialogue", "--model", policy,
             "--critic-backend", "fake", "--critic-model", critic)  # fmt: skip
    beam = {"responses": ["Tom has 3 + 5 = 8 apples. The answer is 8.", "The answer is 9."]}
    made.cli(*fake, "--run", "beam", "--model", write(root / "beam.json", beam),
             "--width", "2", "--depth", "2")  # fmt: skip
    yield made


def flat(text: str) -> str:
    """`text` with every run of whitespace (the terminal's line wraps) as one space."""
    return " ".join(text.split())


def exported_episode(tree: Tree, run: str) -> list[dict[str, Any]]:
    """The segments of the episode sample the export builds for `tree`."""
    (sample,) = samples([tree], "episode", load_prompts(), run=run)
    return [seg.model_dump(mode="json") for seg in sample.segments]


def test_show_names_the_episode_and_lists_its_steps_in_order(runs: Runs) -> None:
    out = flat(runs.cli("show", "crit", PROBLEM.id, "--walk", "episode").output)
    assert "episode, in order (6 segments):" in out
    listed = [
        "#1 step [1] Tom starts with 3 apples.",
        "#2 wrong step [1.1] He buys 5 more, so 3 + 4 = 7.",
        f"#3 reflection (self) [1.1] {SAID}",  # Rich markup in it printed as it was said
        "#4 backtrack to [1]",
        "#5 step [1.2] He buys 5 more, so 3 + 5 = 8.",
        "#6 answer [1.2.1] The answer is 8.",
    ]
    at = [out.index(flat(line)) for line in listed]
    assert at == sorted(at)
    assert "[1] Tom starts with 3 apples. value 1.00 ← #1 step, #4 backtrack" in out  # on the tree

    default = flat(runs.cli("show", "crit", PROBLEM.id).output)  # the journey is drawn by default
    assert "episode: 6 segments (--walk episode draws and lists it)" in default
    assert "in order" not in default
    table = runs.cli("show", "crit").output  # a column of episode lengths (its name may be cut)
    assert "epis" in table and "│ 6 " in table


def test_show_names_the_critic_as_the_voice_of_a_dialogue_reflection(runs: Runs) -> None:
    out = flat(runs.cli("show", "talk", PROBLEM.id, "--walk", "episode").output)
    assert f"#3 reflection (critic) [1.1] {SAID}" in out


def test_the_report_payload_holds_the_exported_episode(runs: Runs) -> None:
    for run, voice in (
        ("crit", "the searching model's own words"),
        ("talk", "the critic's own words"),
    ):
        tree = runs.tree(run)
        payload = report_payload([tree], load_prompts(), run=run)
        (problem,) = payload["problems"]
        walks = problem["walks"]
        assert [w["kind"] for w in walks][-1] == "episode" and len(walks) == len(tree_paths(tree))
        episode = walks[-1]
        origins = [seg.pop("origin", None) for seg in episode["segments"]]
        assert episode["segments"] == exported_episode(tree, run)
        assert [(s["kind"], s["node_id"]) for s in episode["segments"]] == EPISODE
        source = "self" if run == "crit" else "critic"
        assert origins[2] == {"source": source, "judge": "", "reason": voice}
        assert [o for o in origins if o is not None] == [origins[2]]
        assert episode["segments"][2]["text"] == SAID and episode["detours"] == 1
        (line,) = (runs.root / "out" / run / "episode.jsonl").read_text().splitlines()
        row = json.loads(line)
        assert episode["thought"] in row["messages"][-1]["content"]


def test_graph_marks_the_episode_along_its_edges(runs: Runs) -> None:
    lines = runs.cli("graph", "crit", PROBLEM.id, "--walk", "episode").output.splitlines()
    green, red, orange = "#2e9d4f", "#d6453d", "#e08a00"
    for edge, number, colour in [
        ('"ROOT" -> "1"', 1, green),
        ('"1" -> "1.1"', 2, red),
        ('"1" -> "1.2"', 5, green),
        ('"1.2" -> "1.2.1"', 6, green),
    ]:
        assert f'  {edge} [label="{number}", color="{colour}", penwidth="2.5"];' in lines
    backtrack = f'label="4", color="{orange}", style="dashed", constraint="false", penwidth="2"'
    assert f'  "1.1" -> "1" [{backtrack}];' in lines
    plain = runs.cli("graph", "crit", PROBLEM.id, "--walk", "shortcut").output
    assert 'label="4"' not in plain and orange not in plain


def test_trees_without_events_have_no_episode_walk(runs: Runs) -> None:
    beam = runs.tree("beam")
    assert not beam.events and beam.config.search.strategy == "beam"
    hand = Tree(problem=PROBLEM, nodes=apples_nodes(), config=RunConfig())
    for tree in (beam, hand):
        (problem,) = report_payload([tree], load_prompts(), run="r")["problems"]
        assert "episode" not in [w["kind"] for w in problem["walks"]]
        assert "episode" not in [p.kind for p in tree_paths(tree)]
    assert [p.kind for p in tree_paths(hand)] == ["journey", "shortcut"]
    assert "episode" not in runs.cli("show", "beam", PROBLEM.id).output
    assert "epis" not in runs.cli("show", "beam").output


@needs_chromium
def test_chromium_draws_the_episode_and_shows_whose_words_as_text(runs: Runs) -> None:
    runs.cli("view", "crit")
    page = runs.root / "out" / "crit" / "report.html"
    assert "<img" not in page.read_text(encoding="utf-8")
    tree = runs.tree("crit")
    at = [p.kind for p in tree_paths(tree)].index("episode")
    dom = dump_dom(page.as_uri() + f"#p={PROBLEM.id}&w={at}", runs.root / "profile")
    parsed = DomParser()
    parsed.feed(dom)
    assert parsed.find("body")[0].attrs.get("data-ready") == "1"
    assert not any("data-pwned" in e.attrs for e in parsed.elements) and not parsed.find("img")
    pressed = [e for e in parsed.find("button") if e.attrs.get("aria-pressed") == "true"]
    assert [("".join(e.text), e.attrs["data-walk"]) for e in pressed if "data-walk" in e.attrs] == [
        ("episode", str(at))
    ]
    marks = [
        (e.classes[1], int(e.attrs["data-num"])) for e in parsed.find("g") if "order" in e.classes
    ]
    assert sorted(marks, key=lambda m: m[1]) == [(k, n) for n, (k, _) in enumerate(EPISODE, 1)]
    reflection = parsed.find("li", **{"class": "reflection", "data-num": "3"})
    assert SAID in "".join(reflection[0].text)  # markup shown as text
    (origin,) = parsed.find("div", **{"data-field": "origin"})
    assert "".join(origin.text) == "from self: the searching model's own words"
    (episodes,) = parsed.find("button", **{"data-filter": "episode"})
    assert episodes.attrs["data-count"] == "1"
    assert "1 with an episode" in "".join(parsed.find("span", id="run-counts")[0].text)
    row = parsed.find("li", **{"data-key": f"p:{PROBLEM.id}"})[0]
    assert "episode" in row.text
