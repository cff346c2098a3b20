"""DVC at scale: what the pipeline's no-op commands cost as the dataset grows.

A seed project (this checkout's pipeline in a fresh git + DVC repository, every stage run for
real by `dvc repro` on the `sample` source at 64x48 with the tests' tiny training params) is
grown, for each size, to N samples: every file of a seed sample, wherever it lies under
`data/` (the dataset's kinds, the reference, the export, the warped garments, the QA
thumbnails, the evaluation results), is copied under new ids with a few unique trailing
bytes (the cache and the remote hold N distinct objects, and the images still decode), and
the pairs files and catalogs list the new ids; a pack (`vton.formats.packs`: the reference,
the warped garments, the export) gets the same copies as members, and the QA contact sheet
as many pages (HTML and sprite) as the grown dataset fills. Then `validate` runs for
real at N and `dvc commit -f` records every stage, as a `dvc repro` at N would have left it
(the stages' compute is not the subject here; the file count is). Timed, at each size:

- bound (the baseline, measured in the same run): an `os.stat` of every file under `data/`,
  the least any command that checks the workspace must do;
- no-op `dvc repro` and `dvc status`, with the number of file look-ups (state database
  queries) and of files hashed;
- `dvc push` of everything to an empty local remote, and `dvc pull` into a fresh clone;
- `dvc exp run -S <param>` of one training stage's param: its time, the files it hashed and
  the dataset files it rewrote (inode or mtime changed; 0 means it neither copied nor
  re-hashed the dataset).

    python bench/dvc_scale.py [--samples 1000,4000,14000] [--seed 50] [--no-transfer] [--no-exp]
                              [--only data/dataset,data/reference]
                              [--dvc-config cache.type=hardlink] [--json rows.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from dvc_project import make_project, run  # noqa: E402  (the tests' project copy)
from test_pipeline import TINY_TRAIN  # noqa: E402

from vton.fileio import file_digest  # noqa: E402
from vton.formats import manifest, packs  # noqa: E402
from vton.layout import SPLITS  # noqa: E402

EXP_PARAM = "train_generator.tom.steps=5"  # gmm_tom's generator: train_generator, evaluate
PAGE = re.compile(r"^page-(\d+)\.")  # the QA contact sheet's pages and their sprites
SEED_ID = re.compile(r"^(\d{6}_\d{2})")  # the sample source's ids, at a file name's start
ANY_ID = re.compile(r"(?<!\w)(\d{6}_\d{2})(?!\d)")  # in a line: a pairs file, a catalog, a manifest
COUNTS = "DVC_SCALE_COUNTS"
# Runs dvc in this process with its file look-ups and hashes counted (printed last).
COUNTED_DVC = f"""
import atexit, json, sys
import dvc_data.hashfile.build as build
counts = {{"looked_up": 0, "hashed": 0, "hashed_dataset": 0}}
get_hashes, hash_file = build._get_hashes, build.hash_file
def counted_get_hashes(paths, *args, **kwargs):
    counts["looked_up"] += len(paths)
    return get_hashes(paths, *args, **kwargs)
def counted_hash_file(path, *args, **kwargs):
    counts["hashed"] += 1
    counts["hashed_dataset"] += "/data/dataset/" in str(path)
    return hash_file(path, *args, **kwargs)
build._get_hashes, build.hash_file = counted_get_hashes, counted_hash_file
atexit.register(lambda: print("{COUNTS}", json.dumps(counts), file=sys.stderr))
from dvc.cli import main
sys.exit(main(sys.argv[1:]))
"""


def tiny(n_train: int, n_test: int):
    def edit(params: dict) -> None:
        params["base"].update(height=64, width=48)
        params["data"]["sample"].update(n_train=n_train, n_test=n_test)
        params["run"]["loader_workers"] = 0
        for section, parts in TINY_TRAIN.items():
            for key, value in parts.items():
                (params[section] if key is None else params[section][key]).update(value)

    return edit


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def dvc(repo: Path, *args: str) -> tuple[float, dict, str]:
    """Seconds, counts and output of `dvc args` run in `repo` (look-ups and hashes counted)."""
    seconds, out = timed(lambda: run(repo, sys.executable, "-c", COUNTED_DVC, *args, timeout=7200))
    line = [x for x in str(out).splitlines() if x.startswith(COUNTS)][-1]
    return seconds, json.loads(line.split(" ", 1)[1]), str(out)


def files(root: Path) -> Iterator[os.DirEntry]:
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False):
            yield from files(Path(entry.path))
        else:
            yield entry


def bound(repo: Path) -> tuple[float, int]:
    """Seconds to stat every file under data/ (walk included), and the file count."""
    start = time.perf_counter()
    count = sum(1 for entry in files(repo / "data") if entry.stat(follow_symlinks=False))
    return time.perf_counter() - start, count


def build_seed(root: Path, seed: int, settings: list[str]) -> Path:
    n_test = max(1, seed // 5)
    repo = make_project(root, tiny(seed - n_test, n_test))
    for setting in settings:  # e.g. cache.type=hardlink (committed: clones get it too)
        run(repo, "dvc", "config", *setting.split("=", 1))
    seconds, _ = timed(lambda: run(repo, "dvc", "repro", timeout=7200))
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "seed")
    print(f"seed: {seed} samples through every stage in {seconds:.0f} s")
    return repo


def unique_tail(new_id: str, suffix: str) -> bytes:
    """Bytes after the end of a file that make it unique: JPEG and PNG decoders stop at their
    end marker; JSON gets the id in binary as trailing whitespace (still the same JSON)."""
    if suffix == ".json":
        bits = bin(int(new_id.replace("_", "")))[2:]
        return bits.replace("0", " ").replace("1", "\t").encode()
    return f"vton-bench {new_id}".encode()


def grow(repo: Path, factor: int, only: tuple[str, ...] = ()) -> int:
    """Every seed sample's files copied `factor - 1` times under new ids (only below the
    folders `only` names, relative to the repository, when it names any), the lists of
    samples (pairs files, catalogs) and the stages' manifests extended to match; returns
    samples."""
    dataset = repo / "data" / "dataset"
    seeds = {
        split: sorted(p.stem for p in (dataset / split / "image").glob("*")) for split in SPLITS
    }
    replicas: dict[str, list[str]] = {}
    for k, split in enumerate(SPLITS):
        for i, sid in enumerate(seeds[split]):
            base = (k + 1) * 100_000 + i * factor
            replicas[sid] = [sid] + [f"{base + j:06d}_00" for j in range(1, factor)]
    manifests = []
    for entry in list(files(repo / "data")):
        path = Path(entry.path)
        match = SEED_ID.match(path.name)
        grown = not only or any(path.is_relative_to(repo / folder) for folder in only)
        if match and match.group(1) in replicas and grown:
            data = path.read_bytes()
            for new in replicas[match.group(1)][1:]:
                target = path.with_name(new + path.name[len(new) :])
                target.write_bytes(data + unique_tail(new, path.suffix))
        elif path.suffix == packs.SUFFIX and grown:
            _grow_pack(path, replicas)
        elif path.name == "manifest.tsv" and path.parent.name != "validate":
            manifests.append(path)
        elif path.suffix in (".txt", ".csv") and path.parent.name in ("dataset", "ingest"):
            lines = path.read_text().splitlines(keepends=True)
            path.write_text("".join(x for line in lines for x in _replicated(line, replicas)))
    if not only or any(Path(folder) == Path("data/qa") for folder in only):
        _grow_pages(repo / "data" / "qa", len(replicas) * factor)
    for path in manifests:  # the stages' own (validate re-writes its own for real)
        entries = {e.path: e for e in manifest.read(path)}
        for line in list(entries):
            for new_path in _replicated(line, replicas)[1:]:
                file = repo / new_path
                entries[new_path] = manifest.Entry(new_path, file.stat().st_size, file_digest(file))
            if line.endswith(packs.SUFFIX):  # grown above: its size and digest changed
                file = repo / line
                entries[line] = manifest.Entry(line, file.stat().st_size, file_digest(file))
        manifest.write(path, sorted(entries.values(), key=lambda e: e.path))
    return len(replicas) * factor


def _grow_pages(qa: Path, samples: int) -> None:
    """The contact sheet's last page (its HTML, its sprite) copied as the pages `samples`
    fill at the params' `qa.per_page`."""
    per_page = yaml.safe_load((qa.parents[1] / "params.yaml").read_text())["qa"]["per_page"]
    numbered = {}
    for path in qa.rglob("page-*"):
        match = PAGE.match(path.name)
        if match:
            numbered[path] = int(match.group(1))
    last = max(numbered.values(), default=0)
    for path in (p for p, n in numbered.items() if n == last):
        data, tail = path.read_bytes(), path.name[len(f"page-{last}") :]
        for page in range(last + 1, -(-samples // per_page) + 1):
            path.with_name(f"page-{page}{tail}").write_bytes(data + f"vton-bench {page}".encode())


def _grow_pack(pack: Path, replicas: dict[str, list[str]]) -> None:
    """The pack's members grown as `grow` grows files: a member named after a seed sample
    copied under each replica's id, a pairs file or catalog member extended."""
    reader = packs.Reader(pack)
    members: dict[str, bytes] = {}
    for name in reader.names():
        data = reader.read(name)
        folder, _, base = name.rpartition("/")
        match = SEED_ID.match(base)
        if match and match.group(1) in replicas:
            for new in replicas[match.group(1)][1:]:
                member = f"{folder}/{new}{base[len(new) :]}" if folder else new + base[len(new) :]
                members[member] = data + unique_tail(new, Path(base).suffix)
        elif Path(base).suffix in (".txt", ".csv"):
            lines = data.decode().splitlines(keepends=True)
            data = "".join(x for line in lines for x in _replicated(line, replicas)).encode()
        members[name] = data
    reader.close()
    packs.write_members(pack, list(members.items()))


def _replicated(line: str, replicas: dict[str, list[str]]) -> list[str]:
    """`line`, or `line` once per replica when it names seed samples (each replaced by its
    replica of the same rank)."""
    ids = [i for i in dict.fromkeys(ANY_ID.findall(line)) if i in replicas]
    if not ids:
        return [line]
    copies = []
    for j in range(len(replicas[ids[0]])):
        copy = line
        for sid in ids:
            copy = copy.replace(sid, replicas[sid][j])
        copies.append(copy)
    return copies


def dataset_stamps(repo: Path) -> dict[str, tuple[int, int]]:
    return {
        e.path: (e.stat().st_ino, e.stat().st_mtime_ns) for e in files(repo / "data" / "dataset")
    }


def bench_size(
    seed_repo: Path, tmp: Path, samples: int, transfer: bool, exp: bool, only: tuple[str, ...]
) -> dict:
    seed = len(list((seed_repo / "data" / "dataset").glob("*/image/*")))
    factor = max(1, round(samples / seed))
    repo = tmp / f"n{samples}"
    shutil.copytree(seed_repo, repo, symlinks=True)
    t_grow, n = timed(lambda: grow(repo, factor, only))
    t_validate, _ = timed(lambda: run(repo, "dvc", "repro", "-s", "-f", "validate", timeout=7200))
    t_commit, _ = timed(lambda: run(repo, "dvc", "commit", "-f", timeout=7200))
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", f"grown to {n} samples")
    row: dict = {"samples": n}
    row["bound"], row["files"] = bound(repo)
    print(
        f"{n} samples, {row['files']} files under data/ (grown in {t_grow:.0f} s, "
        f"validate {t_validate:.0f} s, dvc commit {t_commit:.0f} s)"
    )
    row["repro"], row["repro_counts"], out = dvc(repo, "repro")
    assert "Running stage" not in out, out[-2000:]
    row["status"], row["status_counts"], out = dvc(repo, "status")
    assert "up to date" in out, out[-2000:]
    print(
        f"  bound {row['bound']:.2f} s, no-op repro {row['repro']:.1f} s, "
        f"status {row['status']:.1f} s"
    )
    if transfer:
        remote = tmp / f"remote{samples}"
        run(repo, "dvc", "remote", "add", "-d", "bench", str(remote))
        run(repo, "git", "commit", "-qam", "remote")
        row["push"], _, _ = dvc(repo, "push")
        clone = tmp / f"clone{samples}"
        run(tmp, "git", "clone", "-q", str(repo), str(clone))
        row["pull"], _, _ = dvc(clone, "pull")
        print(f"  push {row['push']:.1f} s, pull {row['pull']:.1f} s")
        shutil.rmtree(clone)
        shutil.rmtree(remote)
    if exp:
        before = dataset_stamps(repo)
        row["exp"], row["exp_counts"], out = dvc(repo, "exp", "run", "-S", EXP_PARAM)
        after = dataset_stamps(repo)
        row["exp_rewritten"] = sum(before.get(p) != s for p, s in after.items())
    shutil.rmtree(repo)
    return row


def report(rows: list[dict]) -> None:
    print(f"\nno-op commands (seconds; in brackets: x the bound); exp run: -S {EXP_PARAM}")
    print(
        f"{'samples':>8} {'files':>8} {'bound':>6} {'repro':>13} {'status':>13} "
        f"{'push':>13} {'pull':>13} {'exp run':>13}"
    )
    for r in rows:
        cells = []
        for key in ("repro", "status", "push", "pull", "exp"):
            cells.append(
                f"{r[key]:6.1f} ({r[key] / r['bound']:4.0f}x)" if key in r else f"{'-':>13}"
            )
        print(f"{r['samples']:>8} {r['files']:>8} {r['bound']:6.2f} " + " ".join(cells))
    for r in rows:
        exp = (
            f"; exp run hashed {r['exp_counts']['hashed']} files "
            f"({r['exp_counts']['hashed_dataset']} of data/dataset), rewrote "
            f"{r['exp_rewritten']} dataset files"
            if "exp" in r
            else ""
        )
        print(
            f"  {r['samples']}: file look-ups repro {r['repro_counts']['looked_up']}, "
            f"status {r['status_counts']['looked_up']}; files hashed repro "
            f"{r['repro_counts']['hashed']}, status {r['status_counts']['hashed']}{exp}"
        )
    first, last = rows[0], rows[-1]
    if len(rows) > 1:
        growth = last["files"] / first["files"]
        print(
            f"growth {first['samples']} -> {last['samples']} samples: files x{growth:.1f}, "
            f"repro x{last['repro'] / first['repro']:.1f}, "
            f"status x{last['status'] / first['status']:.1f}, "
            f"bound x{last['bound'] / first['bound']:.1f}"
        )


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress as it goes
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", default="1000,4000,14000")
    parser.add_argument("--seed", type=int, default=50, help="samples run through every stage")
    parser.add_argument("--no-transfer", action="store_true", help="skip push and pull")
    parser.add_argument("--no-exp", action="store_true", help="skip dvc exp run")
    parser.add_argument(
        "--only", default="", help="grow only these folders, e.g. data/dataset,data/reference"
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--dvc-config",
        default="",
        help="DVC settings, e.g. cache.type=hardlink,core.checksum_jobs=4",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.samples.split(",")]
    with tempfile.TemporaryDirectory(prefix="vton-dvc-scale-") as name:
        tmp = Path(name)
        settings = [x for x in args.dvc_config.split(",") if x]
        seed_repo = build_seed(tmp / "seed", args.seed, settings)
        rows = []
        for samples in sizes:
            only = tuple(x for x in args.only.split(",") if x)
            rows.append(
                bench_size(seed_repo, tmp, samples, not args.no_transfer, not args.no_exp, only)
            )
            if args.json:
                args.json.write_text(json.dumps(rows, indent=2))
        report(rows)


if __name__ == "__main__":
    main()
