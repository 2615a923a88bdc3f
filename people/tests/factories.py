import factory
from django.contrib.auth.models import Group

from people.models import BusinessUnit, Directorate, Organisation, Role, StaffProfile, User

TEST_PASSWORD = "pass-word-123"  # noqa: S105


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Organisation {n}")


class DirectorateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Directorate

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Directorate {n}")


class BusinessUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessUnit

    directorate = factory.SubFactory(DirectorateFactory)
    name = factory.Sequence(lambda n: f"Unit {n}")
    cost_centre = factory.Sequence(lambda n: f"CC{n:05d}")


class UserFactory(factory.django.DjangoModelFactory):
    """A person with a staff profile. `role=` puts them in that role's group."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.gov.uk")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def profile(self, create, extracted, **kwargs):
        if not create:
            return
        unit = kwargs.pop("business_unit", None) or BusinessUnitFactory()
        StaffProfile.objects.create(
            user=self,
            commonly_used_name=kwargs.pop("name", f"{self.first_name} {self.last_name}"),
            job_title=kwargs.pop("job_title", "Policy Adviser"),
            business_unit=unit,
        )

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if not create:
            return
        role = extracted or Role.STAFF
        group, _ = Group.objects.get_or_create(name=role)
        self.groups.add(group)
        if role == Role.ADMIN:
            self.is_staff = True
            self.save(update_fields=["is_staff"])


def director_of(directorate: Directorate, **kwargs) -> User:
    """Make a director and set them as the directorate's director."""
    unit = BusinessUnitFactory(directorate=directorate)
    director = UserFactory(role=Role.DIRECTOR, profile__business_unit=unit, **kwargs)
    directorate.director = director
    directorate.save(update_fields=["director"])
    return director
