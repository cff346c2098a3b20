"""The garment categories of the agnostic recipe, and how a sample gets its category.

`agnostic.category` is one of `CATEGORIES` (forced on every sample) or `auto`: each sample's
category from its catalog row (`CATALOG_CATEGORIES` maps what the sources write), else
`DEFAULT_CATEGORY`. What each category masks is `vton.annotate.agnostic.RULES`.
"""

from __future__ import annotations

from typing import Literal, cast

Category = Literal["upper_body", "lower_body", "dresses"]
CATEGORIES: tuple[str, ...] = ("upper_body", "lower_body", "dresses")

AUTO = "auto"
"""`agnostic.category: auto`: each sample's category from its catalog row."""

DEFAULT_CATEGORY: Category = "upper_body"
"""The category of a sample whose catalog names none (VITON-HD is all tops)."""

CATALOG_CATEGORIES: dict[str, Category] = {
    # DressCode: the category folder of the sample (`vton.layout.DRESSCODE_CATEGORIES`)
    "upper_body": "upper_body",
    "lower_body": "lower_body",
    "dresses": "dresses",
    # scraped products (`vton.formats.scraped_items.CATEGORIES`)
    "top": "upper_body",
    "bottom": "lower_body",
    "dress": "dresses",
}
"""A catalog's garment category (`provenance["category"]`, as the source wrote it) -> the
recipe's category."""


def check_category(category: str) -> Category:
    """`category` as a `Category`; ValueError naming the choices otherwise."""
    if category not in CATEGORIES:
        raise ValueError(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    return cast(Category, category)


def sample_category(configured: str, catalog: str | None = None) -> tuple[Category, str]:
    """The category the recipe uses for one sample, and where it came from.

    configured: `agnostic.category`; catalog: the sample's catalog category (None when its
    row has none). Returns (category, "params") for an explicit category, otherwise
    (mapped, "catalog") or (DEFAULT_CATEGORY, "default") when the catalog names none or one
    `CATALOG_CATEGORIES` lacks.
    """
    if configured != AUTO:
        return check_category(configured), "params"
    if catalog is not None and catalog in CATALOG_CATEGORIES:
        return CATALOG_CATEGORIES[catalog], "catalog"
    return DEFAULT_CATEGORY, "default"
