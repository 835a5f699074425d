-- by-domain.rq over the fact tables of server/bulk_facts.py: the same rows (the build sorts
-- them by the .rq's ORDER BY); tests/queries/test_precomputed.py pins them to the live query.
-- Terms are in N-Triples form; a domain reached by pkg:domain and pkg:crossDomain is one row.
WITH reached AS (
  SELECT DISTINCT d.o AS domain, d.s AS pattern,
         CASE WHEN EXISTS (SELECT 1 FROM domain AS p WHERE p.s = d.s AND p.o = d.o)
              THEN '"true"^^<http://www.w3.org/2001/XMLSchema#boolean>'
              ELSE '"false"^^<http://www.w3.org/2001/XMLSchema#boolean>' END AS "primary"
  FROM (SELECT s, o FROM domain UNION ALL SELECT s, o FROM cross_domain) AS d
)
SELECT r.domain, r.pattern, slug.o AS slug, title.o AS title, overall.o AS overall_score, r."primary"
FROM reached AS r
JOIN slug ON slug.s = r.pattern
LEFT JOIN title ON title.s = r.pattern
LEFT JOIN (SELECT a.s, score.o FROM assessment AS a
           JOIN score ON score.s = a.o AND score.dimension = '"overall"') AS overall ON overall.s = r.pattern
