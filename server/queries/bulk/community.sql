-- community.rq over the fact tables of server/bulk_facts.py (see by-domain.sql).
SELECT c.o AS community, m.s AS pattern, slug.o AS slug, title.o AS title, confidence.o AS confidence
FROM community AS c
JOIN membership AS m ON m.o = c.s
JOIN slug ON slug.s = m.s
LEFT JOIN confidence ON confidence.s = c.s
LEFT JOIN title ON title.s = m.s
