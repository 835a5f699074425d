-- one-sided-relations.rq over the fact tables of server/bulk_facts.py (see by-domain.sql):
-- a relation between two patterns whose converse the target does not state.
WITH converse (kind, missing) AS (VALUES
  ('<https://w3id.org/patternkg/ontology#enables>', '<https://w3id.org/patternkg/ontology#requires>'),
  ('<https://w3id.org/patternkg/ontology#requires>', '<https://w3id.org/patternkg/ontology#enables>'),
  ('<https://w3id.org/patternkg/ontology#generalizesFrom>', '<https://w3id.org/patternkg/ontology#specializesTo>'),
  ('<https://w3id.org/patternkg/ontology#specializesTo>', '<https://w3id.org/patternkg/ontology#generalizesFrom>'),
  ('<https://w3id.org/patternkg/ontology#alternativeTo>', '<https://w3id.org/patternkg/ontology#alternativeTo>'),
  ('<https://w3id.org/patternkg/ontology#complementaryTo>', '<https://w3id.org/patternkg/ontology#complementaryTo>'),
  ('<https://w3id.org/patternkg/ontology#relatedTo>', '<https://w3id.org/patternkg/ontology#relatedTo>')
)
SELECT d.s AS pattern, slug.o AS slug, d.p AS kind, d.o AS target, target_slug.o AS target_slug, c.missing
FROM direct AS d
JOIN converse AS c ON c.kind = d.p
JOIN pattern_type AS p ON p.s = d.o
JOIN slug AS target_slug ON target_slug.s = d.o
JOIN slug ON slug.s = d.s
WHERE d.s <> d.o
  AND NOT EXISTS (SELECT 1 FROM direct AS back WHERE back.s = d.o AND back.p = c.missing AND back.o = d.s)
