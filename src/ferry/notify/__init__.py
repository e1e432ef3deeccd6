"""Events out: outgoing webhooks.

When a replication execution (or, for Harbor's REPLICATION event, a task) ends, the webhook
policies that select the event get one delivery per target, sent with retries and recorded in a
delivery log. The executions table is the outbox: nothing in the replication path calls this
package, so an execution ends the same way with or without webhooks, and a ferry that was down
announces on its next start what ended meanwhile.

- ``events``     ended executions and tasks as Harbor-shaped announcements; which event a policy hears
- ``payloads``   Harbor's Default JSON, CloudEvents 1.0, and Slack messages
- ``outbox``     finds what ended and queues deliveries, once per policy even with several processes
- ``delivery``   one attempt (``send``) and the loop that sends due deliveries with retries
- ``notifier``   both loops for ``ferry serve``, and the test event (``ferry.services.webhooks``)
"""
