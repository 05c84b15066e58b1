"""Provider clients (APNs, FCM): one small module per provider."""
