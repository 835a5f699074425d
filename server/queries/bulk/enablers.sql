-- enablers.rq over the fact tables of server/bulk_facts.py (see by-domain.sql). CROSS JOIN
-- makes SQLite start from the few relationships of kind enables, not from every kind.
SELECT t.o AS target, q.s AS enabler, slug.o AS slug, title.o AS title, weight.o AS weight,
       '"curated"' AS source, description.o AS description
FROM enabling_relationship AS r
CROSS JOIN kind AS k ON k.s = r.s
JOIN target AS t ON t.s = k.s
JOIN qualified_relationship AS q ON q.o = k.s
JOIN slug ON slug.s = q.s
LEFT JOIN weight ON weight.s = k.s
LEFT JOIN description ON description.s = k.s
LEFT JOIN title ON title.s = q.s
WHERE k.o = '<https://w3id.org/patternkg/ontology#enables>'
UNION ALL
SELECT t.o, q.s, slug.o, title.o, confidence.o, '"inferred"', reason.o
FROM enabling_inferred_link AS i
CROSS JOIN kind AS k ON k.s = i.s
JOIN target AS t ON t.s = k.s
JOIN qualified_inferred_link AS q ON q.o = k.s
JOIN slug ON slug.s = q.s
LEFT JOIN confidence ON confidence.s = k.s
LEFT JOIN reason ON reason.s = k.s
LEFT JOIN title ON title.s = q.s
WHERE k.o = '<https://w3id.org/patternkg/ontology#enables>'
