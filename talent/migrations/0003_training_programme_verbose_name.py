from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("talent", "0002_course_answers_needs"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="programme",
            options={
                "ordering": ["slug"],
                "verbose_name": "training programme",
                "verbose_name_plural": "training programmes",
            },
        ),
    ]
