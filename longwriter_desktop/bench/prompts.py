"""3b. The dev prompts: each one written by the app, with its length score against its target."""


from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine.words import length_score
from .common import load_app_backend
from .document import run_document

# -- 3b. the dev prompts ------------------------------------------------------------------------------


def find_dev_prompts(explicit: str | None = None) -> Path | None:
    """dev_prompts.jsonl: the given path, else ../shared/eval beside the repository (or one level up)."""
    if explicit:
        return Path(explicit)
    repo = Path(__file__).resolve().parents[2]
    for base in (repo.parent, repo.parent.parent):
        candidate = base / "shared" / "eval" / "dev_prompts.jsonl"
        if candidate.is_file():
            return candidate
    return None


def load_dev_prompts(path: Path) -> list[dict[str, Any]]:
    """The prompts, one JSON object a line (prompt, type, length)."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            items.append(json.loads(line))
    return items


def measure_dev_prompts(model_path: Path, prompts_path: Path | None, *, quick: bool, which: list[int] | None,
                        log: Callable[[str], None], on_row: Callable[[dict[str, Any]], None] | None = None
                        ) -> dict[str, Any]:
    """Each dev prompt written by the app (plan mode, target from the instruction): the per-prompt table."""
    if prompts_path is None or not prompts_path.is_file():
        return {"skipped": "dev_prompts.jsonl not found (looked in ../shared/eval beside the repository)"}
    prompts = load_dev_prompts(prompts_path)
    indexed = list(enumerate(prompts))
    if which:
        # In the order given: a long run can put the long prompts last and still have the short ones if cut off.
        indexed = [indexed[n - 1] for n in which if 1 <= n <= len(indexed)]
    elif quick:
        indexed = sorted(indexed, key=lambda ip: ip[1]["length"])[:3]
    rows = []
    commit = _commit()  # the code this process runs (the checkout may move on while it runs)
    backend = load_app_backend(model_path)
    try:
        for number, item in indexed:
            log(f"  dev prompt {number + 1}: {item['length']} words ...")
            stats, _measured, peak = run_document(backend, item["prompt"], log=log)
            # LongBench-Write's length score uses its own counter (CJK characters plus English letter-words).
            words = stats.get("longbench_words", stats["words"])
            row = {
                "number": number + 1,
                "prompt": item["prompt"],
                "type": item.get("type", ""),
                "target": item["length"],
                "app_target": stats["target_words"],
                "words": words,
                "length_score": round(length_score(item["length"], words), 1),
                "wall_s": stats["wall_s"],
                "tokens_per_second": stats["tokens_per_second"],
                "prompt_tokens_evaluated": stats["prompt_tokens_evaluated"],
                "prompt_tokens_without_cache": stats["prompt_tokens_without_cache"],
                "completion_tokens": stats["completion_tokens"],
                "sections": len(stats["sections"]),
                "context_drops": stats["context_drops"],
                "repeated_4gram_share": stats["repeated_4gram_share"],
                "generated_tokens_per_kept": stats.get("generated_tokens_per_kept"),
                "generated_tokens_per_kept_with_plan": stats.get("generated_tokens_per_kept_with_plan"),
                "echo_cuts": stats.get("echo_cuts"),
                "drift_cuts": stats.get("drift_cuts"),
                "repetition_cuts": stats.get("repetition_cuts"),
                "quality": stats.get("quality"),
                "section_words": [(s["words"], s["target_words"]) for s in stats["sections"]],
                "model": stats.get("model"),
                "commit": commit,
                "peak_rss": peak,
            }
            rows.append(row)
            log(f"  dev prompt {number + 1}: {words}/{item['length']} words, score {row['length_score']}, "
                f"{row['wall_s']:.0f} s")
            if on_row is not None:
                on_row(row)
    finally:
        backend.close()
    return {"file": str(prompts_path), "rows": rows,
            "mean_length_score": _mean([r["length_score"] for r in rows]),
            "subset": "all" if len(rows) == len(prompts) else f"{len(rows)} of {len(prompts)}"}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _commit() -> str:
    """The checkout's commit (and whether it had changes), so each row says which code wrote it."""
    repo = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=False, timeout=10).stdout.strip()
    except OSError:
        return "?"
    return (head or "?") + ("+changes" if dirty else "")
