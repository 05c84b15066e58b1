"""Fake APNs and FCM servers and test key material; never imported by service code."""
