DELETE FROM flow_limits WHERE scope = :scope AND name = :name
