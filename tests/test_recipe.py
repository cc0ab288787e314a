"""Recipes: strict loading with errors that name file, line and field; flags override a
recipe only when typed; the resolved settings are what each tree stores and is keyed by."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeygen.cli import main
from journeygen.config import RunConfig
from journeygen.config.recipe import RecipeError, load_recipe, resolve_config
from journeygen.models import Tree
from journeygen.search import STRATEGIES

RECIPES = Path(__file__).parent.parent / "examples" / "recipes"


def test_examples_hold_one_valid_recipe_per_strategy() -> None:
    found = {}
    for path in sorted(RECIPES.glob("*.yaml")):
        config = resolve_config(load_recipe(path))
        found[path.stem] = config.search.strategy
    assert found == {name: name for name in STRATEGIES}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, expected",
    [
        ("search:\n  strategy: mcts\n  widht: 3\n", ":3: search.widht: Extra inputs"),
        ("seed: 1\nsearch:\n  width: 0\n", ":3: search.width: Input should be greater than"),
        ("search:\n  strategy: dfs\n", ":2: search.strategy: unknown strategy 'dfs'; expected"),
        ("judge: answer\n", ":1: judge: Extra inputs are not permitted"),
        ("search: [1, 2]\n", ":1: search: Input should be a valid dictionary"),
        ("search:\n  width: [3\n", ":3: not valid YAML"),
        ("- seed: 1\n", ": a recipe is a mapping of settings"),
    ],
)
def test_a_bad_recipe_names_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    assert str(error.value).startswith(str(path))
    assert expected in str(error.value)


def test_an_empty_recipe_means_the_defaults(tmp_path: Path) -> None:
    assert resolve_config(load_recipe(write(tmp_path, "# nothing yet\n"))) == RunConfig()


def test_overrides_replace_single_fields_and_keep_the_rest(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, "seed: 7\nsearch:\n  strategy: mcts\n  width: 3\n"))
    config = resolve_config(recipe, {"search": {"width": 1}})
    assert (config.seed, config.search.strategy, config.search.width) == (7, "mcts", 1)


SCRIPT = {
    "responses": [
        "Tom starts with 3 apples.\nHe buys 5 more, so 3 + 5 = 8.\nThe answer is 8.",
        "Tom has 3 + 4 = 7 apples.\nThe answer is 7.",
    ],
    "cycle": True,
}
RECIPE = """\
seed: 7
backend:
  name: fake
search:
  strategy: best_of_n
  rollouts: 2
  depth: 3
journey:
  system_prompt: Think first.
"""


def generate(tmp_path: Path, *flags: str) -> Tree:
    problems = tmp_path / "apples.jsonl"
    problems.write_text(json.dumps({"id": "apples", "question": "Tom has 3 apples and buys 5 "
                                    "more. How many?", "answer": "8"}) + "\n")  # fmt: skip
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    recipe = write(tmp_path, RECIPE)
    result = CliRunner().invoke(
        main,
        ["generate", str(problems), "--config", str(recipe), "--model", str(script),
         "--trees-dir", str(tmp_path / "trees"), "--out-dir", str(tmp_path / "out"), *flags],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return Tree.model_validate_json((tmp_path / "trees" / "apples" / "apples.json").read_text())


def test_the_recipe_builds_the_tree_and_untyped_flags_leave_it_alone(tmp_path: Path) -> None:
    tree = generate(tmp_path)
    config = RunConfig.model_validate(tree.config)
    assert (config.seed, config.backend.name, config.search.strategy) == (7, "fake", "best_of_n")
    assert (config.search.rollouts, config.search.depth, config.search.width) == (2, 3, 4)
    assert config.journey.system_prompt == "Think first."
    assert tree.config_hash == config.tree_hash()
    assert [n.text for n in tree.nodes] == [
        "Tom starts with 3 apples.",
        "He buys 5 more, so 3 + 5 = 8.",
        "The answer is 8.",
        "Tom has 3 + 4 = 7 apples.",
        "The answer is 7.",
    ]


def test_typed_flags_override_the_recipe_even_at_their_default(tmp_path: Path) -> None:
    flags = ("--seed", "0", "--strategy", "beam", "--width", "1", "--depth", "1")
    tree = generate(tmp_path, *flags, "--judges", "answer,arithmetic")
    config = RunConfig.model_validate(tree.config)
    assert (config.seed, config.search.strategy, config.search.width) == (0, "beam", 1)
    assert config.judges.use == ["answer", "arithmetic"]
    assert config.search.rollouts == 2  # untouched recipe settings stay
    assert tree.strategy == "beam" and len(tree.nodes) == 1


def test_a_bad_recipe_stops_the_command_with_its_message(tmp_path: Path) -> None:
    problems = tmp_path / "p.jsonl"
    problems.write_text('{"question": "1 + 1?", "answer": "2"}\n')
    recipe = write(tmp_path, "search:\n  rollouts: 100\n")
    result = CliRunner().invoke(main, ["generate", str(problems), "--config", str(recipe)])
    assert result.exit_code != 0
    assert f"{recipe}:2: search.rollouts: Input should be less than or equal to 64" in result.output
