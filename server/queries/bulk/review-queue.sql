-- review-queue.rq over the fact tables of server/bulk_facts.py (see by-domain.sql): the
-- inferred links no curated relationship backs.
SELECT q.s AS pattern, slug.o AS slug, t.o AS target, target_slug.o AS target_slug, kind.o AS kind,
       kind_name.o AS kind_name, confidence.o AS confidence, reason.o AS reason
FROM qualified_inferred_link AS q
JOIN target AS t ON t.s = q.o
JOIN slug ON slug.s = q.s
LEFT JOIN confidence ON confidence.s = q.o
LEFT JOIN kind ON kind.s = q.o
LEFT JOIN slug AS target_slug ON target_slug.s = t.o
LEFT JOIN kind_name ON kind_name.s = q.o
LEFT JOIN reason ON reason.s = q.o
WHERE NOT EXISTS (SELECT 1 FROM backed_by AS b WHERE b.s = q.o)
