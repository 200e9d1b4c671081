from django.urls import path

from .views import plans

urlpatterns = [
    path("patients/<int:patient_id>/timeline/", plans.timeline_view, name="timeline"),
    path("patients/<int:patient_id>/plans/new/", plans.plan_create_view, name="plan_create"),
    path("patients/<int:patient_id>/notes/", plans.note_add_view, name="note_add"),
    path("plans/<int:plan_id>/", plans.plan_detail_view, name="plan_detail"),
    path("plans/<int:plan_id>/options/new/", plans.plan_option_add_view, name="plan_option_add"),
    path("plans/<int:plan_id>/propose/", plans.plan_propose_view, name="plan_propose"),
    path("plans/<int:plan_id>/choose/", plans.plan_choose_view, name="plan_choose"),
    path("plans/<int:plan_id>/abandon/", plans.plan_abandon_view, name="plan_abandon"),
    path(
        "plans/<int:plan_id>/lead-doctor/", plans.plan_change_doctor_view, name="plan_change_doctor"
    ),
    path("visits/<int:visit_id>/complete/", plans.visit_complete_view, name="visit_complete"),
]

from .views import complete_slots  # noqa: E402

urlpatterns += [
    path(
        "visits/<int:visit_id>/complete/slots/",
        complete_slots.visit_complete_slots_view,
        name="visit_complete_slots",
    ),
]

from .views import worklist  # noqa: E402

urlpatterns += [
    path("worklist/", worklist.worklist_view, name="worklist"),
    path("worklist/tasks/<int:task_id>/close/", worklist.task_close_view, name="task_close"),
    path("worklist/tasks/<int:task_id>/assign/", worklist.task_assign_view, name="task_assign"),
    path("worklist/tasks/<int:task_id>/attempt/", worklist.task_attempt_view, name="task_attempt"),
    path("worklist/tasks/close/", worklist.task_close_view, name="tasks_close"),
    path("worklist/tasks/assign/", worklist.task_assign_view, name="tasks_assign"),
    path("routing/", worklist.routing_queue_view, name="routing_queue"),
]

from .views import patient_calendar  # noqa: E402

urlpatterns += [
    path(
        "p/calendar/<str:token>/", patient_calendar.patient_calendar_view, name="patient_calendar"
    ),
]
