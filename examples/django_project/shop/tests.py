from django.test import TransactionTestCase

from tasker.contrib.django import app


class SignupTests(TransactionTestCase):
    def test_signup_enqueues_and_a_worker_runs_it(self):
        task_id = self.client.post("/signup?email=ada@example.com").json()["task_id"]
        self.assertEqual(self.client.get(f"/tasks/{task_id}").json()["status"], "READY")
        app.process_queue()   # what `manage.py tasker_worker` does, once
        body = self.client.get(f"/tasks/{task_id}").json()
        self.assertEqual(body, {"status": "SUCCESSFUL", "attempts": 1, "result": "welcome mail sent to ada@example.com"})
