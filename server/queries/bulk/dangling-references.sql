-- dangling-references.rq over the fact tables of server/bulk_facts.py (see by-domain.sql):
-- per target that is not a pattern and referrer, how many curated relationships and inferred
-- links name it. pkg_token: REPLACE(STR(?target), "^.*/", ""); pkg_integer: an xsd:integer.
WITH named AS (
  SELECT s AS referrer, o AS rel, 1 AS curated, NULL AS inferred FROM qualified_relationship
  UNION ALL
  SELECT s, o, NULL, 1 FROM qualified_inferred_link
), grouped AS (
  SELECT t.o AS target, n.referrer, count(n.curated) AS curated, count(n.inferred) AS inferred
  FROM target AS t
  JOIN named AS n ON n.rel = t.s
  WHERE NOT EXISTS (SELECT 1 FROM pattern_type AS p WHERE p.s = t.o)
  GROUP BY t.o, n.referrer
)
SELECT g.target, pkg_token(g.target) AS token, g.referrer, slug.o AS slug,
       pkg_integer(g.curated) AS curated, pkg_integer(g.inferred) AS inferred
FROM grouped AS g
JOIN slug ON slug.s = g.referrer
