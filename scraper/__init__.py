"""The scrapy project: one generic spider driven by a YAML spec per site (`scraper/sites/`).

`vton scrape SITE --out ROOT` (or `python -m scraper.run`, or from the repository root
`scrapy crawl shop -a site=SITE -a out=ROOT`) crawls a shop politely and writes ROOT in the
format of `vton.formats.scraped_items`; the `scraped` source of the pipeline turns it into
person/garment pairs.
"""
