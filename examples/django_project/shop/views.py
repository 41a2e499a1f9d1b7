from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .tasks import send_welcome


@csrf_exempt
@require_POST
def signup(request):
    with transaction.atomic():
        # ... create the user here: on PostgreSQL the task commits (or rolls back) with it.
        result = send_welcome.enqueue(request.GET["email"])
    return JsonResponse({"task_id": result.id})


def task_status(request, result_id):
    result = send_welcome.get_result(result_id)
    body = {"status": result.status, "attempts": result.attempts}
    if result.is_finished and not result.errors:
        body["result"] = result.return_value
    return JsonResponse(body)
