(:error IS NULL OR instr(lower(t.last_error), lower(:error)) > 0)
