-- top-assessed.rq over the fact tables of server/bulk_facts.py (see by-domain.sql): every
-- score of every dimension (score.dimension is the .rq's ?dimension, "overall" etc.).
SELECT score.dimension, a.s AS pattern, slug.o AS slug, title.o AS title, score.o AS score,
       overall.o AS overall_score
FROM assessment AS a
JOIN score ON score.s = a.o
JOIN slug ON slug.s = a.s
LEFT JOIN title ON title.s = a.s
LEFT JOIN score AS overall ON overall.s = a.o AND overall.dimension = '"overall"'
