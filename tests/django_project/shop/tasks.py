try:
    from django.tasks import task
except ImportError:  # Django before 6
    from django_tasks import task


class Oops(ValueError):
    pass


@task()
def add(a, b):
    return a + b


@task()
def fail(message):
    raise Oops(message)


@task(queue_name="emails")
def send_email(to, subject="hi"):
    return {"to": to, "subject": subject}


@task(queue_name="ranked")
def ranked(label):
    return label


@task()
async def add_later(a, b):
    return a + b


@task(takes_context=True)
def which_attempt(context, label):
    return {"attempt": context.attempt, "id": context.task_result.id, "label": label}
