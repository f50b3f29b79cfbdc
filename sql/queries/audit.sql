-- name: insert_audit :exec
-- Record an operator action.
INSERT INTO queue.audit_log (actor, role, action, target, request_id, ip, details)
VALUES (%(actor)s, %(role)s, %(action)s, %(target)s, %(request_id)s, %(ip)s, %(details)s);
