-- enablers.rq over the fact tables of server/bulk_facts.py (see by-domain.sql). As in the .rq,
-- the edges of kind enables (curated: weight and description; inferred: confidence and reason;
-- the enabling_* tables hold only relationships of that kind), then the enabler's slug and title.
WITH edge AS (
  SELECT r.s AS rel, q.s AS enabler, weight.o AS weight, '"curated"' AS source, description.o AS description
  FROM enabling_relationship AS r
  JOIN qualified_relationship AS q ON q.o = r.s
  LEFT JOIN weight ON weight.s = r.s
  LEFT JOIN description ON description.s = r.s
  UNION ALL
  SELECT i.s, q.s, confidence.o, '"inferred"', reason.o
  FROM enabling_inferred_link AS i
  JOIN qualified_inferred_link AS q ON q.o = i.s
  LEFT JOIN confidence ON confidence.s = i.s
  LEFT JOIN reason ON reason.s = i.s
)
SELECT t.o AS target, e.enabler, slug.o AS slug, title.o AS title, e.weight, e.source, e.description
FROM edge AS e
JOIN target AS t ON t.s = e.rel
JOIN slug ON slug.s = e.enabler
LEFT JOIN title ON title.s = e.enabler
