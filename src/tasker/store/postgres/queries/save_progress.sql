UPDATE {schema}.tasks AS t SET progress = v.progress::jsonb
FROM unnest(%(ids)s::uuid[], %(tokens)s::uuid[], %(progress)s::text[]) AS v(id, token, progress)
WHERE t.id = v.id AND t.claim_token = v.token AND t.status = 'running'
