try:
    from django.tasks import task
except ImportError:  # Django 4.2 to 5.2
    from django_tasks import task


@task()
def send_welcome(email):
    return f"welcome mail sent to {email}"
