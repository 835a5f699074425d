"""A small library for the site tests: the bundled seed plus two patterns written here.

``adaptive-facilitation`` and ``active-listening-depth`` are targets of the seed,
so the seed's page shows links in both directions; ``active-listening-depth``
names a target without a file (``missing-target``) and carries raw HTML in a body
section, which must arrive escaped."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "seeds" / "distributed-organizing.md"

PATTERN = """---
id: {id}
slug: {slug}
title: "{title}"
aliases: [{aliases}]
summary: >-
  {summary}
context_labels:
  corporate: "{corporate}"
  activist: "{activist}"
ontology:
  domain: deep-work-flow
  commons_domain: [life]
  search_hints:
    primary_tension: "Speed vs. Depth"
    vector_keywords: [{keywords}]
  commons_assessment:
    stakeholder_architecture: 3.0
    value_creation: 4.0
    resilience: 3.5
    ownership: 3.0
    autonomy: 4.0
    composability: 3.0
    fractal_value: 3.5
    vitality: 3.0
    overall_score: 3.4
lifecycle:
  usage_stage: application
  adoption_stage: growth
  status: draft
  version: 0.1
  confidence: 2
relationships:
  enables:
{enables}
  requires:
{requires}
graph_garden:
  last_pruned: 2026-02-19
  entities:
    - id: Q1123526
      type: concept
      label: "Active listening"
      relevance: 0.9
  communities:
    - id: organizing-and-activism
      label: "Organizing and Activism"
      source: inferred
      confidence: 0.9
  inferred_links:
    - target: distributed-organizing
      type: complementary
      confidence: 0.66
      reason: "{reason}"
contributors: ["higgerix"]
license: CC-BY-SA-4.0
attribution: "patternkg tests"
---

{summary}

> [!NOTE] Confidence Rating: ★★☆ (Emerging)
> Written for the tests.

### Section 1: Context

{context}

### Section 2: Problem

> **The core conflict is Speed vs. Depth.**

### Section 3: Solution

**Therefore** slow down. See [the seed](https://example.org/seed).

| step | what |
|---|---|
| 1 | listen |

### Section 4: Implementation

1. First step.
2. Second step.
"""


def write_library(folder: Path) -> Path:
    """The seed and two more patterns in *folder* (returned)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SEED.name).write_bytes(SEED.read_bytes())
    (folder / "adaptive-facilitation.md").write_text(PATTERN.format(
        id="pat_01khvcxd6ee7r87dtbex6nqt1a", slug="adaptive-facilitation", title="Adaptive Facilitation",
        aliases='"Responsive facilitation"', summary="Guiding groups by sensing their energy and changing the plan.",
        corporate="Agile Meeting Design", activist="Movement Facilitation",
        keywords='"facilitation", "meetings"',
        enables="    - slug: distributed-organizing\n      weight: 0.7",
        requires="    - slug: active-listening-depth\n      weight: 0.9",
        reason="Facilitation keeps autonomous groups coherent.",
        context="Groups meet often and decide little."), encoding="utf-8")
    (folder / "active-listening-depth.md").write_text(PATTERN.format(
        id="pat_01khvcxd6ee7r87dtbex6nqt1b", slug="active-listening-depth", title="Active Listening Depth",
        aliases='"Deep listening"', summary="Listening for the need beneath the words of a speaker.",
        corporate="Customer Empathy Practice", activist="Listening Campaigns",
        keywords='"listening", "empathy"',
        enables="    - slug: missing-target\n      weight: 0.6",
        requires="    - slug: adaptive-facilitation\n      weight: 0.5",
        reason="Listening builds the shared analysis distributed groups need.",
        context="People talk past each other. <script>alert('x')</script> <b>bold?</b>"), encoding="utf-8")
    return folder
