"""Messages between actors, by direction: up.py (statuses and reports), down.py (Init and commands),
service.py (subscriptions, queries, test hooks). Domain values that also travel as messages (readings,
statuses, alarm records, operator commands) live in the battery package; field-bus events in
protocols/fieldbus/bus_messages.py.

Messages must stay picklable: module-level frozen dataclasses, no open resources, no actor system
objects other than ActorAddress values.
"""
