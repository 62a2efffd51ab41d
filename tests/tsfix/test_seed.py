"""The error seeder of the tsfix benchmark (``benchmarks/tsfix_seed.py``) on a small
project: every kind gives its code under the real, pinned tsc, and nothing else."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from js_support import NodeTools, link_node_modules, node_tools

__all__ = ["node_tools"]  # a fixture

REPO = Path(__file__).resolve().parents[2]
TYPESCRIPT = REPO / "tests" / "node" / "node_modules" / "typescript"


def _load_seeder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "tsfix_seed", REPO / "benchmarks" / "tsfix_seed.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tsfix_seed"] = module
    spec.loader.exec_module(module)
    return module


seeder = _load_seeder()

TSCONFIG = """\
{
  "compilerOptions": {
    "target": "es2020", "module": "commonjs", "lib": ["es2020"], "types": [],
    "strict": true, "noUnusedLocals": true, "noImplicitOverride": true, "noEmit": true
  },
  "include": ["src"]
}
"""

SHAPES = """\
export interface Point {
  x: number;
  y: number;
}

export function distance(a: Point, b: Point): number {
  const dx = a.x - b.x;
  const dy = a.y - b.y;
  return Math.sqrt(dx * dx + dy * dy);
}

export function midpoint(a: Point, b: Point): Point {
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}

export class Shape {
  constructor(public readonly label: string) {}

  area(): number {
    return 0;
  }

  describe(): string {
    return `${this.label}: ${this.area()}`;
  }
}

export class Circle extends Shape {
  constructor(private readonly radius: number) {
    super('circle');
  }

  override area(): number {
    return Math.PI * this.radius * this.radius;
  }

  override describe(): string {
    const base = super.describe();
    return `${base} (r=${this.radius})`;
  }
}
"""

STORE = """\
import { Point, distance, midpoint } from './shapes';

export class Store {
  private readonly points: Point[] = [];
  private total = 0;

  add(point: Point): number {
    this.points.push(point);
    this.total += 1;
    return this.total;
  }

  span(): number {
    let best = 0;
    for (const a of this.points) {
      for (const b of this.points) {
        best = Math.max(best, distance(a, b));
      }
    }
    return best;
  }

  centre(): Point | undefined {
    const first = this.points[0];
    const last = this.points[this.points.length - 1];
    if (first === undefined || last === undefined) {
      return undefined;
    }
    return midpoint(first, last);
  }

  count(): number {
    return this.total;
  }
}

export async function load(values: number[]): Promise<Store> {
  const store = new Store();
  for (const value of values) {
    await Promise.resolve(value);
    store.add({ x: value, y: value * 2 });
  }
  return store;
}
"""

MAIN = """\
import { Circle, Shape } from './shapes';
import { Store, load } from './store';

const lines: string[] = [];

function note(line: string): Promise<number> {
  lines.push(line);
  return Promise.resolve(lines.length);
}

export function describeAll(shapes: Shape[]): string[] {
  return shapes.map((shape) => shape.describe());
}

export function noteAll(values: number[]): void {
  values.forEach(async (value) => {
    await note(String(value));
  });
}

export async function summary(values: number[]): Promise<string> {
  const store = await load(values);
  const circle = new Circle(store.count());
  return `${circle.describe()} span=${store.span()}`;
}

export function scale(store: Store, factor: number): number {
  return store.count() * factor;
}
"""

FILES = {"src/shapes.ts": SHAPES, "src/store.ts": STORE, "src/main.ts": MAIN}
#: every kind the fixture has room for: noImplicitOverride is on, and one callback awaits
ALL_KINDS = tuple(seeder.KINDS)
FLAGS = seeder.Flags(no_unused_locals=True, no_implicit_any=True, no_implicit_override=True)


def make_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tsconfig.json").write_text(TSCONFIG)
    for rel, content in FILES.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return folder


def seed(folder: Path, *, seed: int = 1, count: int = 20) -> dict[str, Any]:
    files = [folder / rel for rel in FILES]
    manifest: dict[str, Any] = seeder.seed_project(
        folder, files, typescript_dir=TYPESCRIPT, seed=seed, count=count, flags=FLAGS
    )
    return manifest


def test_every_kind_gives_its_code_and_nothing_else(tmp_path: Path, node_tools: NodeTools) -> None:
    project = make_project(tmp_path / "project")
    link_node_modules(project, node_tools)
    tsc = node_tools.tsc.parent.parent / "typescript" / "bin" / "tsc"
    assert seeder.run_tsc(project, project / "tsconfig.json", tsc).errors == []
    flags, files = seeder.compiler_flags(project, project / "tsconfig.json", tsc)
    assert flags == FLAGS and sorted(files) == sorted((project / rel).resolve() for rel in FILES)

    manifest = seed(project)
    run = seeder.run_tsc(project, project / "tsconfig.json", tsc)
    result = seeder.check(manifest, run.errors, project, project)

    assert result.missing == [] and result.unexpected == [], (
        seeder.table(result, manifest),
        [str(error) for error, _ in result.unexpected],
    )
    seeded = Counter(entry["kind"] for entry in manifest["seeds"])
    assert set(seeded) == set(ALL_KINDS), seeded
    codes = {error.code for error in run.errors}
    assert {2304, 6133, 1308, 7006, 2551, 4114} <= codes, codes
    by_kind: dict[str, set[int]] = {}
    for error, kind in result.matched.items():
        by_kind.setdefault(kind, set()).add(error.code)
    for kind, found in by_kind.items():
        assert found <= set(seeder.KINDS[kind].codes), (kind, found)
    assert seeder.tier0_errors(manifest) == sum(
        len(entry["expected"]) for entry in manifest["seeds"] if entry["tier0"] == "yes"
    )

    # TypeScript's language service offers each tier-0 kind's own fix for every error.
    offers = seeder.offered_fixes(manifest, project, project / "tsconfig.json")
    for kind, row in offers.items():
        if seeder.KINDS[kind].tier0 != "maybe":
            assert row.offered == row.errors == seeded_errors(manifest, kind), (kind, row)


def seeded_errors(manifest: dict[str, Any], kind: str) -> int:
    return sum(len(entry["expected"]) for entry in manifest["seeds"] if entry["kind"] == kind)


def test_the_same_seed_gives_the_same_copy(tmp_path: Path) -> None:
    first, second = make_project(tmp_path / "a"), make_project(tmp_path / "b")
    one, two = seed(first, seed=7, count=2), seed(second, seed=7, count=2)
    assert {k: v for k, v in one.items() if k != "root"} == {
        k: v for k, v in two.items() if k != "root"
    }
    for rel in FILES:
        assert (first / rel).read_text() == (second / rel).read_text()
    picks = {
        tuple(
            entry["candidate"]
            for entry in seed(make_project(tmp_path / str(n)), seed=n, count=1)["seeds"]
        )
        for n in range(4)
    }
    assert len(picks) > 1, "different seeds should pick differently"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for all of hypothesis's examples (tmp_path is per test, not per example)."""
    return tmp_path_factory.mktemp("seed-property")


@settings(max_examples=40)
@given(
    number=st.integers(min_value=0, max_value=2**32), count=st.integers(min_value=1, max_value=4)
)
def test_seeded_files_still_parse_and_unseed_exactly(
    scratch: Path, number: int, count: int
) -> None:
    folder = scratch / "project"
    if folder.exists():
        shutil.rmtree(folder)
    make_project(folder)
    files = [folder / rel for rel in FILES]
    made = seeder.Seeder(
        folder, files, typescript_dir=TYPESCRIPT, seed=number, count=count, flags=FLAGS
    )
    manifest = made.write(made.select())
    for rel in FILES:
        data = (folder / rel).read_bytes()
        assert not seeder.parse(data).has_error, rel
        lines = data.count(b"\n") + 1
        for entry in manifest["seeds"]:
            if entry["file"] == rel:
                assert all(1 <= want["line"] <= lines for want in entry["expected"])
    assert all(n <= count for n in Counter(e["kind"] for e in manifest["seeds"]).values())
    made.write([])
    for rel, content in FILES.items():
        assert (folder / rel).read_text() == content
