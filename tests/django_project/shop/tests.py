"""The Django backend through Django's own interface, run by Django's test runner
(tests/integration/test_django.py runs it on PostgreSQL and SQLite, Django 6 and the backport)."""
import asyncio
import threading
import time
from datetime import timedelta

from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import TransactionTestCase
from django.utils import timezone

from tasker.contrib.django import app as _unused  # noqa: F401  (the package attribute resolves)
from tasker.contrib.django.interface import django_tasks
from tasker.contrib.django.project import shares_database, tasker

from . import tasks

Status = django_tasks.TaskResultStatus
ON_POSTGRES = connection.vendor == "postgresql"


def run_due():
    return tasker().process_queue()


def wait_until(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


class BackendTests(TransactionTestCase):
    def test_backend_features(self):
        backend = tasks.add.get_backend()
        self.assertEqual(type(backend).__name__, "TaskerBackend")
        self.assertTrue(backend.supports_defer and backend.supports_priority)
        self.assertTrue(backend.supports_async_task and backend.supports_get_result)
        self.assertEqual(shares_database(), ON_POSTGRES)

    def test_enqueue_then_success(self):
        result = tasks.add.enqueue(2, 3)
        self.assertEqual(result.status, Status.READY)
        self.assertEqual(result.args, [2, 3])
        self.assertIsNotNone(result.enqueued_at)
        stored = tasks.add.get_result(result.id)
        self.assertEqual(stored.status, Status.READY)
        self.assertEqual(stored.attempts, 0)
        with self.assertRaises(ValueError):
            stored.return_value
        run_due()
        result.refresh()
        self.assertEqual(result.status, Status.SUCCESSFUL)
        self.assertEqual(result.return_value, 5)
        self.assertEqual(result.attempts, 1)
        self.assertEqual(len(result.worker_ids), 1)
        self.assertIsNotNone(result.started_at)
        self.assertIsNotNone(result.finished_at)
        self.assertGreaterEqual(result.finished_at, result.started_at)
        self.assertTrue(result.is_finished)

    def test_failure_records_the_exception(self):
        result = tasks.fail.enqueue("no stock")
        run_due()
        result.refresh()
        self.assertEqual(result.status, Status.FAILED)
        self.assertEqual(len(result.errors), 1)
        error = result.errors[0]
        self.assertEqual(error.exception_class_path, "shop.tasks.Oops")
        self.assertIs(error.exception_class, tasks.Oops)
        self.assertIn("no stock", error.traceback)
        self.assertIn("raise Oops(message)", error.traceback)
        with self.assertRaises(ValueError):
            result.return_value

    def test_run_after_defers(self):
        later = timezone.now() + timedelta(hours=1)
        result = tasks.add.using(run_after=later).enqueue(1, 1)
        run_due()
        stored = tasks.add.get_result(result.id)
        self.assertEqual(stored.status, Status.READY)
        self.assertEqual(abs((stored.task.run_after - later).total_seconds()) < 1, True)
        self.assertEqual(tasker().get(result.id).run_at.timestamp() // 1, later.timestamp() // 1)

    def test_naive_times_without_use_tz(self):
        from datetime import datetime

        from django.test import override_settings

        with override_settings(USE_TZ=False, TIME_ZONE="Asia/Tokyo"):
            later = datetime.now() + timedelta(hours=1)      # naive: Tokyo time
            result = tasks.add.using(run_after=later).enqueue(1, 1)
            stored = tasks.add.get_result(result.id)
            self.assertIsNone(stored.task.run_after.tzinfo)
            self.assertLess(abs((stored.task.run_after - later).total_seconds()), 1)
            self.assertIsNone(stored.enqueued_at.tzinfo)
            instant = timezone.make_aware(later).timestamp()     # Tokyo time, as an instant
        self.assertLess(abs(tasker().get(result.id).run_at.timestamp() - instant), 1)

    def test_priorities_run_higher_first(self):
        low = tasks.ranked.using(priority=-100).enqueue("low")
        high = tasks.ranked.using(priority=100).enqueue("high")
        self.assertEqual(tasker().get(high.id).priority, 100)
        self.assertEqual(tasks.ranked.get_result(low.id).task.priority, -100)
        tasker().process_queue(batch_size=1)
        self.assertEqual(tasks.ranked.get_result(high.id).status, Status.SUCCESSFUL)
        self.assertEqual(tasks.ranked.get_result(low.id).status, Status.READY)

    def test_queue_names(self):
        result = tasks.send_email.enqueue("a@example.com", subject="welcome")
        self.assertEqual(tasker().get(result.id).queue, "emails")
        self.assertEqual(tasks.send_email.get_result(result.id).task.queue_name, "emails")
        with self.assertRaises(django_tasks.InvalidTask):
            tasks.add.using(queue_name="nowhere")
        run_due()
        self.assertEqual(tasks.send_email.get_result(result.id).return_value, {"to": "a@example.com", "subject": "welcome"})

    def test_arguments_that_are_not_json_store_nothing(self):
        before = tasker().stats()["total"]
        with self.assertRaises(TypeError):
            tasks.add.enqueue(object(), 1)
        self.assertEqual(tasker().stats()["total"], before)

    def test_invalid_priority_is_refused(self):
        with self.assertRaises(django_tasks.InvalidTask):
            tasks.add.using(priority=101)

    def test_unknown_result(self):
        with self.assertRaises(django_tasks.TaskResultDoesNotExist):
            tasks.add.get_result("00000000-0000-0000-0000-000000000000")
        plain = tasker().create("not.a.django.task", {})
        with self.assertRaises(django_tasks.TaskResultDoesNotExist):
            tasks.add.get_backend().get_result(plain)

    def test_async_variants_and_async_task(self):
        async def scenario():
            result = await tasks.add_later.aenqueue(20, 22)
            self.assertEqual(result.status, Status.READY)
            await tasker().aprocess_queue()
            await result.arefresh()
            fetched = await tasks.add_later.aget_result(result.id)
            return result, fetched

        result, fetched = async_to_sync(scenario)()
        self.assertEqual(result.status, Status.SUCCESSFUL)
        self.assertEqual(fetched.return_value, 42)

    def test_context(self):
        result = tasks.which_attempt.enqueue("ctx")
        run_due()
        value = tasks.which_attempt.get_result(result.id).return_value
        self.assertEqual(value, {"attempt": 1, "id": result.id, "label": "ctx"})

    def test_signals(self):
        seen = []

        def record(signal_name):
            def receiver(sender, task_result, **kwargs):
                seen.append((signal_name, task_result.id, task_result.status))
            return receiver

        receivers = {name: record(name) for name in ("enqueued", "started", "finished")}
        for name, receiver in receivers.items():
            getattr(django_tasks, f"task_{name}").connect(receiver)
        try:
            ok = tasks.add.enqueue(1, 2)
            bad = tasks.fail.enqueue("x")
            run_due()
        finally:
            for name, receiver in receivers.items():
                getattr(django_tasks, f"task_{name}").disconnect(receiver)
        self.assertIn(("enqueued", ok.id, Status.READY), seen)
        self.assertIn(("started", ok.id, Status.RUNNING), seen)
        self.assertIn(("finished", ok.id, Status.SUCCESSFUL), seen)
        self.assertIn(("finished", bad.id, Status.FAILED), seen)

    def test_dashboard_behind_staff_login(self):
        self.assertEqual(self.client.get("/tasker/").status_code, 302)
        User.objects.create_user("visitor", password="pw-visitor")
        self.client.login(username="visitor", password="pw-visitor")
        self.assertEqual(self.client.get("/tasker/").status_code, 302)
        User.objects.create_user("staff", password="pw-staff", is_staff=True)
        self.client.login(username="staff", password="pw-staff")
        result = tasks.add.enqueue(4, 4)
        page = self.client.get("/tasker/")
        self.assertEqual(page.status_code, 200)
        self.assertIn(b"Tasker", page.content)
        api = self.client.get(f"/tasker/api/tasks/{result.id}")
        self.assertEqual(api.status_code, 200)
        self.assertEqual(api.json()["type"], "shop.tasks.add")
        # Writes need the dashboard's own CSRF token (its cookie, sent back as a header).
        cancel = f"/tasker/api/tasks/{result.id}/cancel"
        self.assertEqual(self.client.post(cancel).status_code, 403)
        token = page.cookies["tasker_csrf"].value
        self.assertEqual(self.client.post(cancel, HTTP_X_CSRF_TOKEN=token).status_code, 200)
        self.assertEqual(tasker().get(result.id).status.value, "cancelled")
        self.assertEqual(tasks.add.get_result(result.id).status, Status.FAILED)


class SameTransactionTests(TransactionTestCase):
    """PostgreSQL only: Tasker shares Django's database and its connection."""

    def setUp(self):
        if not ON_POSTGRES:
            self.skipTest("Tasker shares Django's database only on PostgreSQL")

    def test_rollback_leaves_no_task(self):
        with self.assertRaises(RuntimeError):
            with transaction.atomic():
                result = tasks.add.enqueue(1, 2)
                raise RuntimeError("roll back")
        self.assertIsNone(tasker().get(result.id))
        with self.assertRaises(django_tasks.TaskResultDoesNotExist):
            tasks.add.get_result(result.id)

    def test_commit_keeps_the_task_and_wakes_a_worker(self):
        loop = asyncio.new_event_loop()
        stop = threading.Event()

        def run_worker():
            async def main():
                job = asyncio.ensure_future(tasker().arun_worker(concurrency=2, poll_interval=30.0))
                while not stop.is_set():
                    await asyncio.sleep(0.02)
                job.cancel()
                try:
                    await job
                except asyncio.CancelledError:
                    pass
                await tasker().aclose()
            loop.run_until_complete(main())

        thread = threading.Thread(target=run_worker)
        thread.start()
        try:
            # Polling every 30 s: within the deadline only the commit's notification can wake it.
            wait_until(lambda: tasker().workers())
            with transaction.atomic():
                result = tasks.add.enqueue(6, 7)
                self.assertIsNone(tasker().get(result.id), "visible before the commit")
            self.assertIsNotNone(tasker().get(result.id))
            wait_until(lambda: tasks.add.get_result(result.id).status == Status.SUCCESSFUL, timeout=10.0)
            self.assertEqual(tasks.add.get_result(result.id).return_value, 13)
        finally:
            stop.set()
            thread.join(timeout=30)
            loop.close()
