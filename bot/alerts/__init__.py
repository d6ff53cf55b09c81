"""Alerts: who a change of the log alerts (:mod:`.plan`), what the alert says
(:mod:`.format`, :mod:`.diff`), which posts are one story (:mod:`.stories`), and the
component that turns the log's journal into outbox messages (:mod:`.dispatcher`)."""
