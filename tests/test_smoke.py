from django.urls import reverse


def test_consultation_list_needs_login(client, db):
    response = client.get(reverse("consultations:list"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_delegate_sees_the_consultation_overview(client, vn_delegate, open_round):
    client.force_login(vn_delegate)
    response = client.get(reverse("consultations:detail", args=["adm-2030"]))
    assert response.status_code == 200
    assert "Second stakeholder engagement" in response.content.decode()
