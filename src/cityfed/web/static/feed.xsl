<?xml version="1.0" encoding="utf-8"?>
<!-- Shows a cityfed Atom feed as a readable page when a browser opens it (issue 18.6): what a feed
     is and how to follow it, then the entries. Feed readers ignore this stylesheet. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="utf-8" doctype-system="about:legacy-compat"/>
  <xsl:template match="/atom:feed">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="atom:title"/> (feed)</title>
        <link rel="stylesheet" href="/static/style.css"/>
      </head>
      <body>
        <main id="main" class="feed-preview">
          <p class="notice" role="note">
            <xsl:text>This is a web feed. Copy its address (</xsl:text>
            <code><xsl:value-of select="atom:link[@rel='self']/@href"/></code>
            <xsl:text>) into a feed reader to hear of new projects and challenges without visiting again.</xsl:text>
          </p>
          <h1><xsl:value-of select="atom:title"/></h1>
          <p><a href="{atom:link[@rel='alternate']/@href}">Visit the web page</a></p>
          <xsl:choose>
            <xsl:when test="atom:entry">
              <ul class="cards">
                <xsl:apply-templates select="atom:entry"/>
              </ul>
            </xsl:when>
            <xsl:otherwise><p>Nothing here yet.</p></xsl:otherwise>
          </xsl:choose>
        </main>
      </body>
    </html>
  </xsl:template>
  <xsl:template match="atom:entry">
    <li class="card" lang="{@xml:lang}">
      <h2><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h2>
      <p class="meta">
        <xsl:value-of select="atom:category[@scheme='https://cityfed.org/ns#']/@label"/>
        <xsl:text> · </xsl:text>
        <time datetime="{atom:published}"><xsl:value-of select="substring(atom:published, 1, 10)"/></time>
      </p>
      <xsl:if test="atom:summary"><p><xsl:value-of select="atom:summary"/></p></xsl:if>
    </li>
  </xsl:template>
</xsl:stylesheet>
