"""task queue: procrastinate's schema, and triggers that enqueue ferry's work in the same transaction

On PostgreSQL only (SQLite runs the in-process dispatcher). ferry's own tables stay the source of
truth; these triggers turn every change that makes work runnable into a procrastinate job:

- a task that becomes ``Pending`` (created by planning, queued again for a retry with its
  ``not_before``, re-queued by the reaper) → job ``ferry.run_task`` scheduled at ``not_before``,
  under the queueing lock ``ferry-task-<id>`` so it is never queued twice; a task that leaves
  ``Pending`` before a worker took it (stopped) → its waiting job is deleted;
- an execution waiting to be planned (``phase = 'planning'`` without an owner: started, or
  released) → job ``ferry.plan_execution`` under ``ferry-plan-<id>``, on its own queue so a
  worker's planning slots and task slots are counted apart.

Revision ID: 0007_task_queue
Revises: 0006_provider_settings
Create Date: 2026-12-02 19:00:00

"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0007_task_queue"
down_revision: str | Sequence[str] | None = "0006_provider_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE = "ferry"
PLANNING_QUEUE = "ferry-plan"

TRIGGERS = f"""
CREATE FUNCTION ferry_queue_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'Pending' THEN
        INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, args, scheduled_at)
        VALUES ('{QUEUE}', 'ferry.run_task', 'ferry-task-' || NEW.id,
                jsonb_build_object('task_id', NEW.id), NEW.not_before)
        ON CONFLICT (queueing_lock) WHERE status = 'todo'
        DO UPDATE SET scheduled_at = EXCLUDED.scheduled_at;
    ELSIF TG_OP = 'UPDATE' AND OLD.status = 'Pending' THEN
        DELETE FROM procrastinate_jobs WHERE queueing_lock = 'ferry-task-' || NEW.id AND status = 'todo';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER ferry_tasks_queue
    AFTER INSERT OR UPDATE OF status, not_before ON tasks
    FOR EACH ROW EXECUTE FUNCTION ferry_queue_task();

CREATE FUNCTION ferry_queue_planning() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.phase = 'planning' AND NEW.owner IS NULL THEN
        INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, args)
        VALUES ('{PLANNING_QUEUE}', 'ferry.plan_execution', 'ferry-plan-' || NEW.id,
                jsonb_build_object('execution_id', NEW.id))
        ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER ferry_executions_queue
    AFTER INSERT OR UPDATE OF phase, owner ON executions
    FOR EACH ROW EXECUTE FUNCTION ferry_queue_planning();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # procrastinate's own schema, as its SchemaManager applies it (% escaped for the driver)
    op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
    op.get_bind().exec_driver_sql(TRIGGERS.replace("%", "%%"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS ferry_tasks_queue ON tasks")
    op.execute("DROP TRIGGER IF EXISTS ferry_executions_queue ON executions")
    op.execute("DROP FUNCTION IF EXISTS ferry_queue_task()")
    op.execute("DROP FUNCTION IF EXISTS ferry_queue_planning()")
